// Apollo's HTTP callback protocol for federated subscriptions (callback/1.0), with this test
// playing the router: it POSTs the subscription with extensions.subscription to our /graphql and
// runs the callback receiver the subgraph talks back to (check → next… → complete).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, START, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";
import { Arrivals } from "../support/wait.js";

interface CallbackMessage {
  kind: string;
  action: "check" | "next" | "complete";
  id: string;
  verifier: string;
  payload?: { data?: any; errors?: any[] };
  errors?: any[];
  protocolHeader: string | undefined;
}

/** The router's side: accepts callbacks for the subscriptions it opened, 404 for any other. */
interface Receiver {
  url: string;
  messages: CallbackMessage[];
  /** Registers a subscription id with its verifier, as the router does before POSTing it. */
  expect(id: string, verifier: string): void;
  /** From now on, answer this subscription's heartbeats with 404 (the router forgot it). */
  forget(id: string): void;
  waitFor(predicate: (m: CallbackMessage) => boolean, timeoutMs?: number): Promise<CallbackMessage>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const messages = new Arrivals<CallbackMessage>("matching callback", (seen) => JSON.stringify(seen.map((m) => [m.action, m.id])));
  const known = new Map<string, string>();
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    const id = req.url?.split("/").at(-1) ?? "";
    const message: CallbackMessage = { ...body, protocolHeader: req.headers["subscription-protocol"] as string | undefined };
    messages.push(message);
    // The protocol: the id in the path and the body must match a live subscription with its verifier.
    if (!known.has(id) || body.id !== id || known.get(id) !== body.verifier) {
      res.writeHead(404).end();
      return;
    }
    if (body.action === "complete") known.delete(id);
    res.writeHead(body.action === "check" ? 204 : 200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    messages: messages.items,
    expect: (id, verifier) => void known.set(id, verifier),
    forget: (id) => void known.delete(id),
    waitFor: (predicate, timeoutMs) => messages.waitFor(predicate, timeoutMs),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const SUBSCRIPTION = `subscription { sessionUpdated { id status consumedEnergyKwh } }`;

let receiver: Receiver;
let elsewhere: Receiver;
let gw: TestGateway | undefined;
let alice: TestDriver;

/** POSTs the subscription as a router does; returns the HTTP answer of our /graphql. */
async function subscribeByCallback(options: { token: string | null; callbackUrl?: string; query?: string }) {
  const id = randomUUID();
  const verifier = randomUUID();
  receiver.expect(id, verifier);
  const response = await fetch(gw!.gateway.graphqlUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify({
      query: options.query ?? SUBSCRIPTION,
      extensions: {
        subscription: {
          callbackUrl: options.callbackUrl ?? `${receiver.url}/callback/${id}`,
          subscriptionId: id,
          verifier,
          heartbeatIntervalMs: 100,
        },
      },
    }),
  });
  return { id, verifier, status: response.status, body: (await response.json()) as { data?: unknown; errors?: any[] } };
}

async function startCharging(evseId: string): Promise<string> {
  const { body } = await gw!.graphql(START, { input: { evseId } }, alice.token);
  expect(body.errors).toBeUndefined();
  return body.data.startCharging.session.id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  receiver = await startReceiver();
  elsewhere = await startReceiver();
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  // Only the router's callback path is allowed (app.ts: SUBSCRIPTION_CALLBACK_URLS).
  gw = await startTestGateway({ env: { SUBSCRIPTION_CALLBACK_URLS: `${receiver.url}/callback` } });
});

afterAll(async () => {
  await gw?.close();
  await receiver?.close();
  await elsewhere?.close();
});

describe("subscriptions over Apollo's HTTP callback protocol", () => {
  it("refuses a callbackUrl outside SUBSCRIPTION_CALLBACK_URLS and calls nothing (no request forgery)", async () => {
    for (const callbackUrl of [`${elsewhere.url}/callback/x`, `${receiver.url}/callbackx/y`, `${receiver.url}/other`]) {
      const refused = await subscribeByCallback({ token: alice.token, callbackUrl });
      expect(refused.status).toBe(403);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    // The plugin sends `check` and waits for its answer before the HTTP answer goes out: anything
    // it had sent for these requests would be at a receiver by now.
    expect(elsewhere.messages).toEqual([]);
    expect(receiver.messages).toEqual([]);
  });

  it("refuses an anonymous subscription in the HTTP answer, before any callback", async () => {
    const refused = await subscribeByCallback({ token: null });
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // As above: a `check` would have come before the HTTP answer.
    expect(receiver.messages.filter((m) => m.id === refused.id)).toEqual([]);
  });

  it("refuses extensions.subscription on a query", async () => {
    const refused = await subscribeByCallback({ token: alice.token, query: "{ chargingSessions { nodes { id } } }" });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("ends the subscription when the router answers a heartbeat with 404", async () => {
    const sub = await subscribeByCallback({ token: alice.token });
    expect(sub.status).toBe(200);
    await receiver.waitFor((m) => m.id === sub.id && m.action === "check");
    receiver.forget(sub.id);
    const heartbeats = () => receiver.messages.filter((m) => m.id === sub.id && m.action === "check").length;
    const seen = heartbeats();
    await expect.poll(heartbeats).toBeGreaterThan(seen); // one more heartbeat, answered 404
    await startCharging("DE*SIM*E0001*1");
    await sleep(400);
    expect(receiver.messages.filter((m) => m.id === sub.id && m.action === "next")).toEqual([]);
    const settled = heartbeats(); // and the heartbeats stopped
    await sleep(300);
    expect(heartbeats()).toBe(settled);
  });

  it("check → next with every change of the driver's session → complete when the subgraph shuts down", async () => {
    const sub = await subscribeByCallback({ token: alice.token });
    expect(sub.status).toBe(200);
    expect(sub.body).toEqual({ data: null });
    const check = await receiver.waitFor((m) => m.id === sub.id && m.action === "check");
    expect(check).toMatchObject({ kind: "subscription", verifier: sub.verifier, protocolHeader: "callback/1.0" });

    const sessionId = await startCharging("DE*SIM*E0001*2");
    const charging = await receiver.waitFor(
      (m) =>
        m.id === sub.id &&
        m.action === "next" &&
        m.payload?.data?.sessionUpdated?.id === sessionId &&
        m.payload.data.sessionUpdated.consumedEnergyKwh > 0,
    );
    expect(charging).toMatchObject({
      kind: "subscription",
      verifier: sub.verifier,
      payload: { data: { sessionUpdated: { status: "CHARGING" } } },
    });
    const statuses = receiver.messages
      .filter((m) => m.id === sub.id && m.action === "next" && m.payload?.data?.sessionUpdated?.id === sessionId)
      .map((m) => m.payload!.data.sessionUpdated.status as string);
    expect(statuses.filter((s, i) => s !== statuses[i - 1]).slice(0, 3)).toEqual(["REQUESTED", "ACCEPTED", "CHARGING"]);
    // Heartbeats keep coming while the subscription lives (heartbeatIntervalMs 100).
    await expect.poll(() => receiver.messages.filter((m) => m.id === sub.id && m.action === "check").length).toBeGreaterThan(2);

    // Shutting down (drain) completes every open callback subscription.
    await gw!.close();
    gw = undefined;
    const complete = await receiver.waitFor((m) => m.id === sub.id && m.action === "complete");
    expect(complete).toMatchObject({ kind: "subscription", verifier: sub.verifier });
    expect(complete.errors).toBeUndefined();
  });
});
