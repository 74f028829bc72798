// Helpers for the tracing tests: an OTLP/HTTP receiver on a real socket, and a gateway assembled
// from its real parts (store, Hubject simulator, datasource, session service and events, OICP
// listener, GraphQL server) with the tracing pieces plugged in where app.ts will plug them.

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tracer } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { createEvseStatus } from "../../src/app/evse-status.js";
import { createIdentifications } from "../../src/app/identifications.js";
import { Closers, closeServer, listen } from "../../src/app/lifecycle.js";
import { createLimits } from "../../src/app/limits.js";
import { loadConfig } from "../../src/config/config.js";
import { HubjectDatasource } from "../../src/datasources/hubject.datasource.js";
import { createEvseStatusLoader } from "../../src/evse-status/request-loader.js";
import { federationLoaders } from "../../src/federation/loaders.js";
import { createLogger } from "../../src/logger.js";
import { createTracingAroundRequest, createTracingPlugin } from "../../src/observability/tracing.js";
import { createOicpListener } from "../../src/oicp/inbound/listener.js";
import { oicpInboundReader } from "../../src/oicp/inbound/parse.js";
import { createInProcessSessionEvents } from "../../src/pubsub/in-process.js";
import { createRedisSessionEvents } from "../../src/pubsub/redis.js";
import { buildGatewaySchema } from "../../src/schema/build-schema.js";
import { createAuthenticator } from "../../src/server/auth.js";
import type { GatewayContext } from "../../src/server/context.js";
import { createGraphQLServer } from "../../src/server/graphql.server.js";
import type { SessionEvents } from "../../src/sessions/ports.js";
import { SessionService } from "../../src/sessions/session.service.js";
import { type HubjectSimulator, type SimulatorPace, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import { FAST_PACE, TEST_JWT_SECRET } from "../support/gateway.js";
import { REDIS_URL } from "../support/redis.js";

export { REDIS_URL };

export const NOTIFICATIONS_PATH = "/api/oicp/notificationmgmt/v11/charging-notifications";

/** A caller's span: a W3C traceparent with the sampled flag, and its ids. */
export function clientSpan(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

export const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
export const traceOf = (span: ReadableSpan) => span.spanContext().traceId;
export const idOf = (span: ReadableSpan) => span.spanContext().spanId;

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP receiver (the exporter sends JSON: application/json, ids as hex)

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  serviceName: unknown;
}

export interface OtlpReceiver {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT would be: the base URL, without /v1/traces. */
  endpoint: string;
  requests: Array<{ method: string; path: string; contentType: string | undefined; body: any }>;
  spans(): OtlpSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpReceiver["requests"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the assertion on the content type will say what came
      }
      requests.push({ method: req.method ?? "", path: req.url ?? "", contentType: req.headers["content-type"], body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    spans() {
      const spans: OtlpSpan[] = [];
      for (const request of requests) {
        for (const resourceSpans of request.body?.resourceSpans ?? []) {
          const serviceName = attributesOf(resourceSpans.resource?.attributes)["service.name"];
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
                name: span.name,
                kind: span.kind,
                attributes: attributesOf(span.attributes),
                serviceName,
              });
            }
          }
        }
      }
      return spans;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function attributesOf(list: Array<{ key: string; value: Record<string, unknown> }> | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    result[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue ?? value.arrayValue ?? null;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// A gateway from its parts

export interface TracedStack {
  graphqlUrl: string;
  oicpUrl: string;
  simulator: HubjectSimulator;
  sessions: SessionService;
  /** The adapter the service publishes to. */
  events: SessionEvents;
  graphql(query: string, variables: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  postOicp(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startTracedStack(options: {
  tracer: Tracer;
  /** Wire the GraphQL plugin and aroundRequest (what app.ts does when tracing is on). */
  graphqlTracing?: boolean;
  events?: { kind: "in-process" } | { kind: "redis"; channelPrefix: string };
  pace?: Partial<SimulatorPace>;
  /** MUTATION_WAIT_MS (default 8 s): shorter, and a slow answer settles after the mutation answered. */
  mutationWaitMs?: number;
}): Promise<TracedStack> {
  const dataDir = mkdtempSync(join(tmpdir(), "emp-tracing-"));
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: join(dataDir, "gateway.sqlite"),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    HUBJECT_PROVIDER_ID: "DE-GQL",
    OICP_ALLOW_PLAIN_HTTP: "true",
    ...(options.mutationWaitMs !== undefined ? { MUTATION_WAIT_MS: String(options.mutationWaitMs) } : {}),
  });
  const logger = createLogger({ level: "silent" });
  const closers: Array<() => Promise<void> | void> = [() => rmSync(dataDir, { recursive: true, force: true })];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const simulator = await startSimulator({
      providerId: "DE-GQL",
      host: "127.0.0.1",
      port: 0,
      pace: { ...FAST_PACE, ...options.pace },
      logger,
    });
    closers.push(() => simulator.close());
    const store = openSqlStore({ url: config.databaseUrl, sessionCacheSize: config.sessionCacheSize, logger });
    closers.push(() => store.close());
    await store.migrate();
    const hubject = new HubjectDatasource({ baseUrl: simulator.url, providerId: "DE-GQL", logger, tracer: options.tracer });
    closers.push(() => hubject.close());
    const eventsKind = options.events ?? { kind: "in-process" };
    const events =
      eventsKind.kind === "redis"
        ? createRedisSessionEvents({ url: REDIS_URL, channelPrefix: eventsKind.channelPrefix, logger })
        : createInProcessSessionEvents({ logger });
    closers.push(() => events.close());
    const sessions = new SessionService({
      store,
      hubject,
      events,
      reader: oicpInboundReader,
      logger,
      matchWindowMs: config.sessionMatchWindowMs,
      mutationWaitMs: config.mutationWaitMs,
      joinTimeoutMs: 95_000,
    });
    closers.push(() => sessions.drain());
    // EVSE statuses through the gateway's one reader; without REDIS_URL its counters are in-process.
    const evseStatus = createEvseStatus(config, { hubject, limits: createLimits(config, logger, new Closers()), metrics: null, logger });

    const oicp = createOicpListener({
      sessions,
      logger,
      pathPrefix: config.oicp.pathPrefix,
      maxBodyBytes: config.oicp.maxBodyBytes,
      tls: null,
      allowedIps: [],
      tracer: options.tracer,
    });
    const oicpPort = await listen(oicp, 0, "127.0.0.1");
    closers.push(() => closeServer(oicp));
    const oicpUrl = `http://127.0.0.1:${oicpPort}${config.oicp.pathPrefix}`;
    simulator.setGatewayOicpUrl(oicpUrl);

    const identificationClosers = new Closers();
    closers.push(() => identificationClosers.closeAll());
    const identifications = createIdentifications(config, { store, logger, closers: identificationClosers });
    const graphqlTracing = options.graphqlTracing ?? true;
    const graphql = await createGraphQLServer({
      schema: await buildGatewaySchema(),
      authenticator: createAuthenticator(config.auth),
      contextFor: (driver, transport): GatewayContext => ({
        driver,
        sessions,
        events,
        identifications,
        operatorRole: config.identifications.operatorRole,
        staleAfterMs: config.staleAfterMs,
        evseStatus: createEvseStatusLoader(evseStatus.reader, { cache: transport === "http", maxIds: config.evseStatus.maxIdsPerRequest }),
        ...federationLoaders(store, driver, transport),
      }),
      sandbox: false,
      production: false,
      logger,
      ...(graphqlTracing
        ? { plugins: [createTracingPlugin<GatewayContext>(options.tracer)], aroundRequest: createTracingAroundRequest(options.tracer) }
        : {}),
    });
    const httpPort = await listen(graphql.server, 0, "127.0.0.1");
    closers.push(async () => {
      await graphql.stop();
      if (graphql.server.listening) await closeServer(graphql.server);
    });
    const graphqlUrl = `http://127.0.0.1:${httpPort}/graphql`;

    return {
      graphqlUrl,
      oicpUrl,
      simulator,
      sessions,
      events,
      async graphql(query, variables, headers = {}) {
        const response = await fetch(graphqlUrl, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ query, variables }),
        });
        return { status: response.status, body: await response.json() };
      },
      async postOicp(path, body, headers = {}) {
        const response = await fetch(`${oicpUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: await response.json() };
      },
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
