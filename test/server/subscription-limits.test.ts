// Subscription limits over real sockets (issue 12): per socket, per driver (across their sockets)
// and per process, refused with an `error` message for that subscription alone
// (SUBSCRIPTION_LIMIT, naming the limit); the socket and everyone else go on; a completed
// subscription, a closed socket and an ended HTTP callback subscription give their slot back.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Client, createClient } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  driver,
  startedAtCharger,
  startTestGateway,
  subscribed,
  type TestDriver,
  type TestGateway,
  wsOperationsStarted,
} from "../support/gateway.js";
import { Arrivals, eventually } from "../support/wait.js";

const LIVE = `subscription Live($sessionId: ID) { sessionUpdated(sessionId: $sessionId) { id hubjectSessionId status } }`;
const evco = (n: number) => `DE-GQL-C${String(n).padStart(8, "0")}-7`;

interface LiveSubscription {
  events: Arrivals<any>;
  /** `error` messages for this subscription (their payload: the errors). */
  errors: Arrivals<any[]>;
  complete(): void;
}

interface Socket {
  client: Client;
  subscribe(variables?: Record<string, unknown>): LiveSubscription;
  /** A query over this socket, to its result. */
  query(query: string): Promise<any>;
  close(): Promise<void>;
}

let sockets: Socket[] = [];

/** One graphql-ws connection of `who`, on which any number of subscriptions run. */
function openSocket(gw: TestGateway, who: TestDriver): Socket {
  const closed = new Arrivals<unknown>("close");
  const client = createClient({
    url: gw.gateway.websocketUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${who.token}` },
    on: { closed: (event) => closed.push(event) },
    onNonLazyError: () => undefined,
  });
  const socket: Socket = {
    client,
    subscribe(variables = {}) {
      const events = new Arrivals<any>("sessionUpdated event", (seen) => JSON.stringify(seen.map((e) => e.hubjectSessionId)));
      const errors = new Arrivals<any[]>("error message");
      const complete = client.subscribe(
        { query: LIVE, variables },
        {
          next: (result) => {
            if (result.data?.sessionUpdated) events.push(result.data.sessionUpdated);
          },
          // An `error` message carries the errors; a closed socket would give its close event instead.
          error: (error) => errors.push(Array.isArray(error) ? error : [{ closed: error }]),
          complete: () => undefined,
        },
      );
      return { events, errors, complete };
    },
    async query(query) {
      for await (const result of client.iterate({ query })) return result;
      throw new Error("the query ended without a result");
    },
    async close() {
      await client.dispose();
    },
  };
  sockets.push(socket);
  return socket;
}

/** `count` subscriptions on `socket`, resolved once the gateway has started all of them. */
const subscribeMany = (gw: TestGateway, socket: Socket, count: number, variables?: Record<string, unknown>) =>
  subscribed(gw.gateway, () => Array.from({ length: count }, () => socket.subscribe(variables)), count);

/** The refusal a subscription got: its one error. */
async function refusal(subscription: LiveSubscription): Promise<any> {
  const errors = await subscription.errors.waitFor(() => true);
  expect(errors).toHaveLength(1);
  return errors[0];
}

/** Whether a new subscription on `socket` is admitted now (it stays open) or refused. */
async function admittedNow(gw: TestGateway, socket: Socket): Promise<boolean> {
  const before = await wsOperationsStarted(gw.gateway);
  const attempt = socket.subscribe();
  return eventually(async () => {
    if (attempt.errors.items.length > 0) return "refused";
    if ((await wsOperationsStarted(gw.gateway)) > before) return "admitted";
    return undefined;
  }, "the subscription to be admitted or refused").then((outcome) => {
    if (outcome === "refused") attempt.complete();
    return outcome === "admitted";
  });
}

/** A session started at a charger with one of `who`'s contracts, published to `who`'s subscriptions. */
const chargerStart = (gw: TestGateway, who: TestDriver): Promise<string> => startedAtCharger(gw, who.evcoIds[0]!);

const everyoneReceives = (subscriptions: LiveSubscription[], hubjectSessionId: string) =>
  Promise.all(subscriptions.map((s) => s.events.waitFor((e) => e.hubjectSessionId === hubjectSessionId)));

async function openSubscriptions(gw: TestGateway): Promise<number> {
  return (await gw.gateway.metrics!.openSubscriptions.get()).values[0]?.value ?? 0;
}

async function closeSockets(gw: TestGateway | undefined) {
  await Promise.all(sockets.map((s) => s.close()));
  sockets = [];
  // Every slot is back once the gateway has seen the sockets go (the gauge drops in the same hook).
  if (gw) await eventually(async () => (await openSubscriptions(gw)) === 0, "the gateway to count no open subscription");
}

describe("with the default limits (20 per socket, 50 per driver)", () => {
  let gw: TestGateway;
  let n = 0;
  /** A driver of their own for each test: counts are per driver. */
  const someone = () => driver(`driver-${++n}`, [evco(100 + n)]);

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterEach(async () => closeSockets(gw));
  afterAll(async () => gw?.close());

  it("refuses the 21st subscription on one socket with SUBSCRIPTION_LIMIT; the first 20 still get events, the socket stays usable", async () => {
    const alice = await someone();
    const socket = openSocket(gw, alice);
    const first = await subscribeMany(gw, socket, 20);

    const twentyFirst = socket.subscribe();
    expect(await refusal(twentyFirst)).toEqual({
      message:
        "Too many subscriptions on this connection: at most 20 may be open on one connection (SUBSCRIPTION_MAX_PER_SOCKET). Complete one before starting another.",
      extensions: { code: "SUBSCRIPTION_LIMIT", limit: "PER_SOCKET", max: 20, retryable: false },
    });

    const started = await chargerStart(gw, alice);
    await everyoneReceives(first, started);
    // Refused with an `error` message for its id alone: the socket is open and serves queries.
    const answer = await socket.query(`{ chargingSessions(first: 5) { nodes { hubjectSessionId } } }`);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.chargingSessions.nodes.map((s: any) => s.hubjectSessionId)).toContain(started);
    expect(twentyFirst.events.items).toEqual([]);
  });

  it("counts a driver's subscriptions across their sockets: the 51st over 3 sockets is refused; another driver is unaffected", async () => {
    const bob = await someone();
    const [one, two, three] = [openSocket(gw, bob), openSocket(gw, bob), openSocket(gw, bob)];
    const fifty = [...(await subscribeMany(gw, one, 20)), ...(await subscribeMany(gw, two, 20)), ...(await subscribeMany(gw, three, 10))];

    const refusedMessage = {
      message:
        "Too many subscriptions for this driver: at most 50 may be open at once across all of your connections (SUBSCRIPTION_MAX_PER_DRIVER). Complete one before starting another.",
      extensions: { code: "SUBSCRIPTION_LIMIT", limit: "PER_DRIVER", max: 50, retryable: false },
    };
    expect(await refusal(three.subscribe())).toEqual(refusedMessage);
    // A fresh socket does not reset the count.
    expect(await refusal(openSocket(gw, bob).subscribe())).toEqual(refusedMessage);

    const carol = await someone();
    const carols = await subscribeMany(gw, openSocket(gw, carol), 20);
    const [bobs, carolsSession] = [await chargerStart(gw, bob), await chargerStart(gw, carol)];
    await everyoneReceives(fifty, bobs);
    await everyoneReceives(carols, carolsSession);
    expect(carols.flatMap((s) => s.events.items).map((e) => e.hubjectSessionId)).not.toContain(bobs);
  });

  it("a completed subscription frees its slot at once, a closed socket frees all of its slots", async () => {
    const dave = await someone();
    const socket = openSocket(gw, dave);
    const twenty = await subscribeMany(gw, socket, 20);
    expect((await refusal(socket.subscribe())).extensions.limit).toBe("PER_SOCKET");

    // `complete` and the next `subscribe` go out back to back: the new one gets the freed slot.
    twenty[0]!.complete();
    const replacement = await subscribed(gw.gateway, () => socket.subscribe());
    expect(replacement.errors.items).toEqual([]);
    const started = await chargerStart(gw, dave);
    await everyoneReceives([replacement, ...twenty.slice(1)], started);
    expect(twenty[0]!.events.items).toEqual([]);

    // At the driver's limit, closing one socket gives its 20 back to the driver.
    const others = [openSocket(gw, dave), openSocket(gw, dave)];
    await subscribeMany(gw, others[0]!, 20);
    await subscribeMany(gw, others[1]!, 10);
    expect((await refusal(others[1]!.subscribe())).extensions.limit).toBe("PER_DRIVER");
    const open = await openSubscriptions(gw);
    await socket.close();
    await eventually(async () => (await openSubscriptions(gw)) === open - 20, "the closed socket's subscriptions to end");
    const again = await subscribeMany(gw, openSocket(gw, dave), 20);
    await everyoneReceives(again, await chargerStart(gw, dave));
  });

  it("queries and mutations over a websocket take no subscription slot", async () => {
    const erin = await someone();
    const socket = openSocket(gw, erin);
    await subscribeMany(gw, socket, 20);
    for (let i = 0; i < 3; i++) {
      const answer = await socket.query(`{ chargingSessions(first: 1) { nodes { id } } }`);
      expect(answer.errors).toBeUndefined();
    }
  });
});

describe("the per-process limit", () => {
  const PROCESS_LIMIT = 5;
  let gw: TestGateway;
  let router: CallbackReceiver;

  beforeAll(async () => {
    router = await startCallbackReceiver();
    gw = await startTestGateway({
      env: { SUBSCRIPTION_MAX_PER_PROCESS: String(PROCESS_LIMIT), SUBSCRIPTION_CALLBACK_URLS: `${router.url}/callback` },
    });
  });
  afterEach(async () => closeSockets(gw));
  afterAll(async () => {
    await gw?.close();
    await router?.close();
  });

  it("holds across drivers and transports (HTTP callback subscriptions count too), and frees slots as subscriptions end", async () => {
    const [p1, p2, p3] = await Promise.all([driver("p1", [evco(201)]), driver("p2", [evco(202)]), driver("p3", [evco(203)])]);
    const s1 = openSocket(gw, p1);
    const s2 = openSocket(gw, p2);
    const s3 = openSocket(gw, p3);
    const held = [...(await subscribeMany(gw, s1, 2)), ...(await subscribeMany(gw, s2, 2))];
    const viaRouter = await router.subscribe(gw, p3);
    expect(viaRouter.status).toBe(200);
    expect(viaRouter.body.errors).toBeUndefined();
    await router.waitFor((m) => m.id === viaRouter.id && m.action === "check");

    // The sixth, whoever asks and however: refused, and worth retrying (here, or on another replica).
    expect(await refusal(s3.subscribe())).toEqual({
      message: `This server holds as many subscriptions as it can (SUBSCRIPTION_MAX_PER_PROCESS, ${PROCESS_LIMIT}). Please try again in a moment.`,
      extensions: { code: "SUBSCRIPTION_LIMIT", limit: "PER_PROCESS", max: PROCESS_LIMIT, retryable: true },
    });
    const refusedByHttp = await router.subscribe(gw, p3);
    expect(refusedByHttp.status).toBe(429);
    expect(refusedByHttp.body.errors?.[0]?.extensions).toMatchObject({ code: "SUBSCRIPTION_LIMIT", limit: "PER_PROCESS" });
    // Refused in the HTTP answer: no callback was opened for it.
    expect(router.messages.filter((m) => m.id === refusedByHttp.id)).toEqual([]);

    // The four on websockets, and the one over callbacks, still get their events.
    await everyoneReceives(held.slice(0, 2), await chargerStart(gw, p1));
    const p3Session = await chargerStart(gw, p3);
    await router.waitFor(
      (m) => m.id === viaRouter.id && m.action === "next" && m.payload?.data?.sessionUpdated?.hubjectSessionId === p3Session,
    );

    // A completed websocket subscription frees its slot for anyone (once the gateway has ended it:
    // another socket's `subscribe` may reach it before this `complete`).
    held[0]!.complete();
    await eventually(async () => (await openSubscriptions(gw)) === 3, "the completed subscription to end at the gateway");
    const p3s = await subscribed(gw.gateway, () => s3.subscribe());
    expect(await refusal(s3.subscribe())).toMatchObject({ extensions: { limit: "PER_PROCESS" } });

    // The router forgets its subscription (404 on the next heartbeat): the gateway ends it, and its slot is free again.
    router.forget(viaRouter.id);
    await eventually(() => admittedNow(gw, s3), "a slot to be free after the callback subscription ended");
    await everyoneReceives([p3s], await chargerStart(gw, p3));
  });
});

// --- a router's callback receiver (Apollo's callback/1.0), as in test/federation/subscription-callback.test.ts

interface CallbackMessage {
  action: "check" | "next" | "complete" | "heartbeat";
  id: string;
  verifier: string;
  payload?: { data?: any; errors?: any[] };
}

interface CallbackReceiver {
  url: string;
  messages: CallbackMessage[];
  /** POSTs `sessionUpdated` for `who` with extensions.subscription, as a router does; the HTTP answer. */
  subscribe(gw: TestGateway, who: TestDriver): Promise<{ id: string; status: number; body: { data?: unknown; errors?: any[] } }>;
  /** From now on, answer this subscription's callbacks with 404 (the router forgot it). */
  forget(id: string): void;
  waitFor(predicate: (m: CallbackMessage) => boolean): Promise<CallbackMessage>;
  close(): Promise<void>;
}

async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const messages = new Arrivals<CallbackMessage>("callback", (seen) => JSON.stringify(seen.map((m) => [m.action, m.id])));
  const known = new Map<string, string>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as CallbackMessage;
    messages.push(body);
    const id = req.url?.split("/").at(-1) ?? "";
    if (!known.has(id) || body.id !== id || known.get(id) !== body.verifier) {
      res.writeHead(404).end();
      return;
    }
    if (body.action === "complete") known.delete(id);
    res.writeHead(body.action === "check" ? 204 : 200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    messages: messages.items,
    async subscribe(gw, who) {
      const id = randomUUID();
      const verifier = randomUUID();
      known.set(id, verifier);
      const response = await fetch(gw.gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${who.token}` },
        body: JSON.stringify({
          query: LIVE,
          extensions: { subscription: { callbackUrl: `${url}/callback/${id}`, subscriptionId: id, verifier, heartbeatIntervalMs: 100 } },
        }),
      });
      return { id, status: response.status, body: (await response.json()) as { data?: unknown; errors?: any[] } };
    },
    forget: (id) => void known.delete(id),
    waitFor: (predicate) => messages.waitFor(predicate),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
