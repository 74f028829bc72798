// Three gateway processes behind one address, on one PostgreSQL and one Redis: a driver subscribed
// on replica 1, the mutations sent to replica 2, Hubject's notifications posted to replica 3. The
// events arrive on replica 1, in order; one idempotency key sent to all three at once makes one
// upstream call; killing replica 3 in the middle of a session loses nothing.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { createTestSchema, type TestSchema } from "../store/pg-support.js";
import { driver, FAST_PACE, SESSION_UPDATED, START, STOP, subscribeAt, TEST_JWT_SECRET, type TestDriver } from "../support/gateway.js";
import { type ProcessGateway, spawnGateway } from "../support/process-gateway.js";
import { REDIS_URL, untilSubscribed } from "../support/redis.js";

let schema: TestSchema;
let sim: HubjectSimulator;
let replicas: ProcessGateway[] = [];
let alice: TestDriver;
const channelPrefix = `cluster-test-${randomBytes(4).toString("hex")}:`;

beforeAll(async () => {
  schema = await createTestSchema();
  sim = await startSimulator({ providerId: "DE-GQL", port: 0, pace: { ...FAST_PACE, progressIntervalMs: 150 } });
  const env = {
    DATABASE_URL: schema.url,
    REDIS_URL,
    REDIS_CHANNEL_PREFIX: channelPrefix,
    HUBJECT_BASE_URL: sim.url,
    HUBJECT_PROVIDER_ID: "DE-GQL",
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    OICP_ALLOW_PLAIN_HTTP: "true",
    MUTATION_WAIT_MS: "3000",
    RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000",
    RECONCILE_INTERVAL_MS: "0",
    CDR_BACKFILL_INTERVAL_MS: "0",
  };
  // Started together, as a deployment would: migrations run once under the database's lock.
  replicas = await Promise.all([spawnGateway(env), spawnGateway(env), spawnGateway(env)]);
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop().catch(() => undefined)));
  await sim?.close();
  await schema?.drop();
});

async function graphql(replica: ProcessGateway, query: string, variables: Record<string, unknown>) {
  const response = await fetch(replica.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data: any; errors?: any[] };
}

const websocketUrl = (replica: ProcessGateway) => replica.graphqlUrl.replace(/^http/, "ws");

it("three replicas, one Postgres, one Redis: events cross replicas in order, one key makes one call, a dead replica loses nothing", async () => {
  const [one, two, three] = replicas as [ProcessGateway, ProcessGateway, ProcessGateway];
  sim.setGatewayOicpUrl(three.oicpUrl); // Hubject's calls land on replica 3

  const watch = subscribeAt(websocketUrl(one), alice.token, SESSION_UPDATED);
  await untilSubscribed(`${channelPrefix}driver:updated:alice`); // replica 1's SUBSCRIBE took effect in Redis

  // The mutation goes to replica 2.
  const started = await graphql(two, START, { input: { evseId: "DE*SIM*E0001*1" } });
  const id = started.data.startCharging.session.id as string;
  expect(started.data.startCharging.session.status).toBe("ACCEPTED");
  await watch.waitFor((s) => s.id === id && s.status === "CHARGING" && s.consumedEnergyKwh > 0);

  // The same idempotency key sent to all three replicas at once: one upstream call, one session.
  const callsBefore = sim.callsTo("AuthorizeRemoteStart").length;
  sim.failNext("AuthorizeRemoteStart", { kind: "delay", ms: 600 });
  const repeats = await Promise.all(
    replicas.map((replica) => graphql(replica, START, { input: { evseId: "DE*SIM*E0001*2", idempotencyKey: "tap-42" } })),
  );
  expect(new Set(repeats.map((r) => r.data.startCharging.session.id)).size).toBe(1);
  expect(sim.callsTo("AuthorizeRemoteStart").length).toBe(callsBefore + 1);

  // Replica 3 dies in the middle of the session; Hubject's calls move to replica 1.
  await three.kill();
  sim.setGatewayOicpUrl(one.oicpUrl);
  const stopped = await graphql(two, STOP, { input: { sessionId: id } });
  expect(stopped.data.stopCharging.error).toBeNull();
  const completed = await watch.waitFor((s) => s.id === id && s.status === "COMPLETED", 15_000);
  expect(completed.chargeDetailRecord.consumedEnergyKwh).toBe(completed.consumedEnergyKwh);

  // On replica 1, every change of the session arrived once and in order.
  const mine = watch.events.filter((s) => s.id === id);
  const statuses = mine.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]);
  expect(statuses).toEqual(["REQUESTED", "ACCEPTED", "CHARGING", "STOP_REQUESTED", "CHARGING_ENDED", "COMPLETED"]);
  const updated = mine.map((s) => Date.parse(s.updatedAt));
  expect(updated).toEqual([...updated].sort((a, b) => a - b));
  const energies = mine.filter((s) => s.consumedEnergyKwh !== null).map((s) => s.consumedEnergyKwh);
  expect(energies).toEqual([...energies].sort((a, b) => a - b));

  // Every replica still alive reads the same final state from the shared store.
  for (const replica of [one, two]) {
    const read = await graphql(replica, `query($id: ID!) { chargingSession(id: $id) { status consumedEnergyKwh } }`, { id });
    expect(read.data.chargingSession).toEqual({ status: "COMPLETED", consumedEnergyKwh: completed.consumedEnergyKwh });
  }
  await watch.client.dispose();
}, 90_000);
