// The supergraph for real: Hive Gateway (@graphql-hive/gateway's runtime on node:http + graphql-ws,
// as its CLI serves it) in front of this gateway (the "emp" subgraph, in-process) and a small
// accounts subgraph that owns Driver. Everything over real sockets on ephemeral ports:
//
//   client ──HTTP / graphql-ws──▶ Hive Gateway ──HTTP (queries, _entities)──▶ emp, accounts
//                                              └─graphql-ws (subscriptions)─▶ emp ws://…/graphql
//
// The app's token travels as the Authorization header (HTTP) and as the graphql-ws connection
// parameter `authorization` (what our /graphql socket reads), so each driver's subscription runs
// upstream with their own token.

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Client, createClient, type ServerOptions } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { driver, startTestGateway, type TestDriver, type TestGateway, wsOperationsStarted } from "../support/gateway.js";
import { Arrivals } from "../support/wait.js";
import { ACCOUNTS_SDL, type AccountsSubgraph, compose, startAccountsSubgraph } from "./support.js";

// Loaded without its types on purpose: @graphql-hive/gateway's typings pull in graphql-yoga's
// augmentation of graphql's GraphQLErrorExtensions (`http.headers` as a Record), which clashes
// with Apollo Server's (a Map, used by src/errors.ts) once both are in one `tsc` program.
interface GatewayRuntime {
  (req: IncomingMessage, res: import("node:http").ServerResponse): void;
  graphqlEndpoint: string;
  dispose(): Promise<void>;
}
interface HiveGatewayModule {
  createGatewayRuntime(config: Record<string, unknown>): GatewayRuntime;
  getGraphQLWSOptions(
    runtime: GatewayRuntime,
    onContext: (ctx: { extra: { request: IncomingMessage; socket: WebSocket } }) => Record<string, unknown>,
  ): ServerOptions<Record<string, unknown>, { request: IncomingMessage; socket: WebSocket }>;
}
const HIVE_GATEWAY = "@graphql-hive/gateway";
const { createGatewayRuntime, getGraphQLWSOptions } = (await import(HIVE_GATEWAY)) as HiveGatewayModule;

const ALICE_EVCO = "DE-GQL-C00000001-7";
const EVSE = "DE*SIM*E0001*1";

let gw: TestGateway;
let accounts: AccountsSubgraph;
let hive: { url: string; wsUrl: string; runtime: GatewayRuntime; close(): Promise<void> };
let alice: TestDriver;
let bob: TestDriver;
const clients: Client[] = [];

async function startHiveGateway(supergraph: string) {
  const runtime = createGatewayRuntime({
    supergraph,
    logging: "error",
    // Queries and _entities calls go over HTTP: hand each subgraph the app's token.
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }: { request: Request }) => ({ authorization: request.headers.get("authorization") }),
    },
    transportEntries: {
      // "emp" is this gateway's subgraph name in the supergraph (compose() below).
      emp: {
        options: {
          subscriptions: {
            kind: "ws",
            // Relative to the subgraph URL: ws://host:port/graphql, our graphql-ws endpoint.
            location: "/graphql",
            options: {
              // A graphql-ws client of Hive Gateway puts its connection params into context.headers;
              // an HTTP (SSE) client has its Authorization header there. One upstream socket per token.
              connectionParams: { authorization: "{context.headers.authorization}" },
            },
          },
        },
      },
    },
  });
  const server: Server = createServer(runtime);
  // Hive Gateway's CLI does exactly this for graphql-ws clients (serve-runtime: useServer + getGraphQLWSOptions).
  const wsServer = new WebSocketServer({ server, path: runtime.graphqlEndpoint });
  const wsHandle = useServer(
    getGraphQLWSOptions(runtime, (ctx) => ({
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      request: new Request(`http://${ctx.extra.request.headers.host}${ctx.extra.request.url}`, {
        headers: Object.entries(ctx.extra.request.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v] as [string, string]] : [])),
      }),
    })),
    wsServer,
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${runtime.graphqlEndpoint}`,
    wsUrl: `ws://127.0.0.1:${port}${runtime.graphqlEndpoint}`,
    runtime,
    async close() {
      await wsHandle.dispose();
      for (const socket of wsServer.clients) socket.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await runtime.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function viaHive<T = any>(query: string, variables: Record<string, unknown>, token: string | null) {
  const response = await fetch(hive.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: T; errors?: any[] } };
}

/** A graphql-ws client of Hive Gateway, with the token in the connection params like the apps send it. */
function subscribeViaHive(token: string, query: string, variables: Record<string, unknown> = {}) {
  const client = createClient({
    url: hive.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  clients.push(client);
  const errors: unknown[] = [];
  const events = new Arrivals<any>("matching event", (seen) => `${JSON.stringify(seen)} errors ${JSON.stringify(errors)}`);
  client.subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const event = (result.data as any)?.sessionUpdated;
        if (event) events.push(event);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  return {
    events: events.items,
    errors,
    waitFor: (predicate: (e: any) => boolean, timeoutMs?: number) => events.waitFor(predicate, timeoutMs),
  };
}

/** Subscriptions the emp subgraph has started over its graphql-ws endpoint (Hive Gateway's upstream sockets). */
const subscriptionsOverWs = () => wsOperationsStarted(gw.gateway);

/** startCharging through Hive Gateway; the new session's id. */
async function startViaHive(evseId: string, token: string): Promise<string> {
  const started = await viaHive(
    `mutation($input: StartChargingInput!) { startCharging(input: $input) { session { id } error { code } } }`,
    { input: { evseId } },
    token,
  );
  expect(started.body.errors).toBeUndefined();
  return started.body.data.startCharging.session.id as string;
}

beforeAll(async () => {
  gw = await startTestGateway();
  accounts = await startAccountsSubgraph();
  alice = await driver("alice", [ALICE_EVCO]);
  bob = await driver("bob", ["DE-GQL-C00000002-5"]);
  // Our SDL as a router would fetch it: Query._service over HTTP from the running subgraph.
  const sdl = await gw.graphql<{ _service: { sdl: string } }>("{ _service { sdl } }");
  expect(sdl.body.errors).toBeUndefined();
  const { supergraphSdl } = compose([
    { name: "emp", url: gw.gateway.graphqlUrl, sdl: sdl.body.data!._service.sdl },
    { name: "accounts", url: accounts.url, sdl: ACCOUNTS_SDL },
  ]);
  hive = await startHiveGateway(supergraphSdl);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await hive?.close();
  await accounts?.stop();
  await gw?.close();
});

describe("Hive Gateway in front of the emp and accounts subgraphs", () => {
  it("answers a query that spans both subgraphs: me (accounts) → chargingSessions (emp)", async () => {
    const started = await viaHive(
      `mutation($input: StartChargingInput!) { startCharging(input: $input) { session { id status } error { code } } }`,
      { input: { evseId: EVSE } },
      alice.token,
    );
    expect(started.body.errors).toBeUndefined();
    const id = started.body.data.startCharging.session.id as string;

    const { status, body } = await viaHive(`{ me { id name chargingSessions(first: 5) { nodes { id status evseId } } } }`, {}, alice.token);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.me).toMatchObject({ id: "alice", name: "Alice Example" });
    expect(body.data.me.chargingSessions.nodes).toContainEqual(expect.objectContaining({ id, evseId: EVSE }));
    // accounts got the app's token for `me` (emp did too, or chargingSessions would be UNAUTHENTICATED).
    expect(accounts.authorizations).toContain(`Bearer ${alice.token}`);
  });

  it("a field error in our subgraph leaves the other subgraph's data standing (partial answers stay partial)", async () => {
    // Another driver's session, started straight at the emp subgraph.
    const dave = await driver("dave", ["DE-GQL-C00000004-1"]);
    const started = await gw.graphql(
      `mutation($input: StartChargingInput!) { startCharging(input: $input) { session { id } error { code } } }`,
      { input: { evseId: "DE*SIM*E0001*4", evcoId: "DE-GQL-C00000004-1" } },
      dave.token,
    );
    const bobs = started.body.data.startCharging.session.id as string;
    // Alice asks for her name (accounts) and for Dave's session (emp: FORBIDDEN).
    const { status, body } = await viaHive(`query($id: ID!) { me { name } chargingSession(id: $id) { id } }`, { id: bobs }, alice.token);
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: { name: "Alice Example" }, chargingSession: null });
    expect(body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("keeps each driver's sessions to themselves through the router", async () => {
    const { body } = await viaHive(`{ me { name chargingSessions { nodes { id } } } }`, {}, bob.token);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ me: { name: "Bob Example", chargingSessions: { nodes: [] } } });
  });

  it("streams sessionUpdated through Hive Gateway, which subscribes to emp over graphql-ws", async () => {
    const before = await subscriptionsOverWs();
    const mine = subscribeViaHive(alice.token, `subscription { sessionUpdated { id status evseId consumedEnergyKwh } }`);
    // Bob's subscription goes upstream with Bob's token on its own socket: none of Alice's events reach it.
    const bobs = subscribeViaHive(bob.token, `subscription { sessionUpdated { id status } }`);
    await expect.poll(subscriptionsOverWs, { timeout: 5_000 }).toBe(before + 2);

    const id = await startViaHive("DE*SIM*E0001*2", alice.token);

    const charging = await mine.waitFor((s) => s.id === id && s.status === "CHARGING" && s.consumedEnergyKwh > 0);
    expect(charging.evseId).toBe("DE*SIM*E0001*2");
    const statuses = mine.events.filter((s) => s.id === id).map((s) => s.status);
    expect(statuses.filter((s, i) => s !== statuses[i - 1]).slice(0, 3)).toEqual(["REQUESTED", "ACCEPTED", "CHARGING"]);
    expect(mine.errors).toEqual([]);
    expect(bobs.events).toEqual([]);
    expect(bobs.errors).toEqual([]);
  });

  it("serves an SSE client too: its Authorization header becomes the upstream graphql-ws connection param", async () => {
    const before = await subscriptionsOverWs();
    const abort = new AbortController();
    const response = await fetch(hive.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${bob.token}` },
      body: JSON.stringify({ query: `subscription { sessionUpdated { id status } }` }),
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    await expect.poll(subscriptionsOverWs, { timeout: 5_000 }).toBe(before + 1);

    const id = await startViaHive("DE*SIM*E0001*3", bob.token);

    const events: any[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    while (!events.some((e) => e.id === id && e.status === "CHARGING")) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const data = buffer
          .slice(0, cut)
          .split("\n")
          .find((line) => line.startsWith("data:"));
        buffer = buffer.slice(cut + 2);
        const event = data ? JSON.parse(data.slice(5)).data?.sessionUpdated : undefined;
        if (event) events.push(event);
      }
    }
    abort.abort();
    expect(events.filter((e) => e.id === id).map((e) => e.status)).toContain("CHARGING");
  });
});
