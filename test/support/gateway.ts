// Test kit: a whole gateway on ephemeral ports with its embedded simulator, plus small builders
// for drivers, tokens and clients, so each test states only what matters to it.

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "graphql-ws";
import { SignJWT } from "jose";
import WebSocket from "ws";
import { type Gateway, type GatewayOverrides, startGateway } from "../../src/app/gateway.js";
import { loadConfig } from "../../src/config/config.js";
import type { SimulatorPace } from "../../src/simulator/hubject.simulator.js";
import { Arrivals, eventually } from "./wait.js";

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123";

export const FAST_PACE: Partial<SimulatorPace> = {
  answerDelayMs: 20,
  slowAnswerMs: 400,
  startDelayMs: 60,
  progressIntervalMs: 80,
  stopDelayMs: 30,
  cdrDelayMs: 60,
  autoStopAfterMs: null,
};

export interface TestDriver {
  id: string;
  evcoIds: string[];
  token: string;
}

export async function tokenFor(sub: string, evcoIds: string[], options: { expiresIn?: string | number; secret?: string } = {}) {
  return new SignJWT({ evco_ids: evcoIds })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

export async function driver(id: string, evcoIds: string[]): Promise<TestDriver> {
  return { id, evcoIds, token: await tokenFor(id, evcoIds) };
}

export interface TestGateway {
  gateway: Gateway;
  dataDir: string;
  databaseFile: string;
  /** POST a GraphQL operation; returns the HTTP status and the parsed body. */
  graphql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<{ status: number; body: { data?: T; errors?: any } }>;
  subscribe(token: string | null, query: string, variables?: Record<string, unknown>): Subscription;
  postOicp(path: string, body: unknown): Promise<{ status: number; body: any }>;
  /** Stops the gateway (and its simulator); keeps the data folder unless `removeData`. */
  close(options?: { removeData?: boolean }): Promise<void>;
}

export interface Subscription {
  events: any[];
  errors: unknown[];
  closed: Promise<{ code: number; reason: string } | null>;
  /** Resolves with the first event that satisfies `predicate` (past or future). */
  waitFor(predicate: (event: any) => boolean, timeoutMs?: number): Promise<any>;
  dispose(): Promise<void>;
}

export async function startTestGateway(
  options: { dataDir?: string; env?: Record<string, string>; pace?: Partial<SimulatorPace>; overrides?: GatewayOverrides } = {},
): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "emp-gw-"));
  const databaseFile = join(dataDir, "gateway.sqlite");
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    OICP_HOST: "127.0.0.1",
    OICP_PORT: "0",
    SIMULATOR_PORT: "0",
    DATABASE_URL: databaseFile,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    HUBJECT_PROVIDER_ID: "DE-GQL",
    // Background jobs run when a test says so (gateway.jobs.runNow / gateway.reconciler.run).
    RECONCILE_INTERVAL_MS: "0",
    CDR_BACKFILL_INTERVAL_MS: "0",
    // Tests post to the OICP listener over loopback HTTP; test/oicp covers its TLS.
    OICP_ALLOW_PLAIN_HTTP: "true",
    // Suites about other behaviour start many sessions per driver; test/e2e/security covers the limits.
    RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000",
    // Likewise for EVSE reads; test/e2e/evse-budget covers the driver's limit and the EMP's budget.
    RATE_LIMIT_EVSE_READS_PER_MINUTE: "100000",
    ...options.env,
  });
  const gateway = await startGateway(config, { ...options.overrides, simulatorPace: { ...FAST_PACE, ...options.pace } });
  const clients: Client[] = [];

  return {
    gateway,
    dataDir,
    databaseFile,
    async graphql(query, variables, token) {
      const response = await fetch(gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as any };
    },
    subscribe(token, query, variables) {
      const subscription = subscribeAt(gateway.websocketUrl, token, query, variables);
      clients.push(subscription.client);
      return subscription;
    },
    async postOicp(path, body) {
      const response = await fetch(`${gateway.oicpUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    async close({ removeData = true } = {}) {
      // The gateway first: its clients should see what a real shutdown sends them (1012).
      await gateway.close();
      await Promise.all(clients.map((c) => c.dispose()));
      if (removeData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A graphql-ws client on any gateway (another process, another replica). */
export function subscribeAt(
  websocketUrl: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Subscription & { client: Client } {
  let resolveClosed!: (value: { code: number; reason: string } | null) => void;
  const closed = new Promise<{ code: number; reason: string } | null>((resolve) => (resolveClosed = resolve));
  const client = createClient({
    url: websocketUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (event: any) => resolveClosed({ code: event?.code, reason: event?.reason }) },
    onNonLazyError: () => undefined,
  });
  const events = new Arrivals<any>("matching event", (seen) => JSON.stringify(seen.map((e) => e.status)));
  const errors: unknown[] = [];
  client.subscribe(
    { query, variables: variables ?? {} },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const event = result.data ? Object.values(result.data)[0] : undefined;
        if (event) events.push(event);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  return {
    client,
    events: events.items,
    errors,
    closed,
    waitFor: (predicate, timeoutMs) => events.waitFor(predicate, timeoutMs),
    async dispose() {
      await client.dispose();
    },
  };
}

/** graphql-ws operations the gateway has started (its onOperation hook counts them in its metrics). */
export async function wsOperationsStarted(gateway: Gateway): Promise<number> {
  if (!gateway.metrics) throw new Error("wsOperationsStarted() reads the gateway's metrics: leave METRICS_ENABLED on");
  const metric = await gateway.metrics.graphqlRequests.get();
  return metric.values
    .filter((v) => v.labels.transport === "ws" && v.labels.operation_type === "subscription" && v.labels.outcome === "ok")
    .reduce((sum, v) => sum + v.value, 0);
}

/**
 * Opens what `open` opens (graphql-ws subscriptions: `count` of them) and resolves with it once
 * the gateway has started them. graphql-ws calls onOperation right before it reads the first event,
 * and that first read registers the subscription with the session events in the same turn: from
 * then on the subscription gets every change published.
 */
export async function subscribed<T>(gateway: Gateway, open: () => T, count = 1): Promise<T> {
  const before = await wsOperationsStarted(gateway);
  const opened = open();
  await eventually(async () => (await wsOperationsStarted(gateway)) >= before + count, `${count} subscription(s) started at the gateway`);
  return opened;
}

const CHARGING_NOTIFICATIONS = "/api/oicp/notificationmgmt/v11/charging-notifications";

/**
 * A session started at a charger with `evcoId`, one of a driver's contracts: an OICP Plug&Charge
 * Start notification (no Hubject call), published to that driver's subscriptions. Resolves with
 * its Hubject SessionID once the gateway acknowledged it.
 */
export async function startedAtCharger(gw: TestGateway, evcoId: string): Promise<string> {
  // The gateway learns a driver's contracts from their token, shortly after a request.
  await eventually(() => gw.gateway.store.driverForContract(evcoId), `the gateway to know the holder of ${evcoId}`);
  const sessionId = randomUUID();
  const now = new Date().toISOString();
  const { body } = await gw.postOicp(CHARGING_NOTIFICATIONS, {
    Type: "Start",
    SessionID: sessionId,
    EvseID: "DE*SIM*E9000*1",
    Identification: { PlugAndChargeIdentification: { EvcoID: evcoId } },
    SessionStart: now,
    ChargingStart: now,
  });
  if (body?.Result !== true) throw new Error(`the charger's Start was refused: ${JSON.stringify(body)}`);
  return sessionId;
}

/**
 * What `subscription` (a driver's sessionUpdated, without sessionId) had received before a change
 * published now: a session started at a charger with `evcoId`, one of the driver's contracts (an
 * inbound Plug&Charge Start: no Hubject call). A subscription gets the changes in the order they
 * were published, so when this marker arrives, whatever the gateway published before it has
 * arrived too: the positive signal that nothing more is on its way.
 */
export async function deliveredBeforeMarker(gw: TestGateway, subscription: Subscription, evcoId: string): Promise<any[]> {
  const sessionId = await startedAtCharger(gw, evcoId);
  const marker = await subscription.waitFor((s) => s.hubjectSessionId === sessionId);
  return subscription.events.slice(0, subscription.events.indexOf(marker));
}

export const SESSION_FIELDS = `
  id hubjectSessionId evseId evcoId status
  lastStatusCode { code description additionalInfo }
  requestedAt chargingStartedAt chargingEndedAt sessionStartedAt sessionEndedAt updatedAt
  consumedEnergyKwh origin stale figuresSource lastEventAt
  chargeDetailRecord { hubjectSessionId consumedEnergyKwh chargingStart chargingEnd sessionStart sessionEnd }
`;

export const START = `mutation Start($input: StartChargingInput!) {
  startCharging(input: $input) { session { ${SESSION_FIELDS} } error { code message oicpStatusCode retryable } }
}`;
export const STOP = `mutation Stop($input: StopChargingInput!) {
  stopCharging(input: $input) { session { ${SESSION_FIELDS} } error { code message oicpStatusCode retryable } }
}`;
export const SESSION_UPDATED = `subscription Updates($sessionId: ID) { sessionUpdated(sessionId: $sessionId) { ${SESSION_FIELDS} } }`;
