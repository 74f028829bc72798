// Redis is the fan-out, the store is the log: two replicas on one PostgreSQL and a Redis this test
// owns. A driver subscribed on replica A; changes are made on both replicas while Redis is down;
// when Redis is back, every change reaches the subscriber once, in version order, without waiting
// for another event. Meanwhile both replicas stay ready (degraded, and said so), and nothing is lost.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../store/pg-support.js";
import {
  driver,
  SESSION_UPDATED,
  startedAtCharger,
  startTestGateway,
  subscribed,
  type TestDriver,
  type TestGateway,
} from "../support/gateway.js";
import { untilSubscribed } from "../support/redis.js";
import { type OwnRedis, startOwnRedis } from "../support/redis-server.js";
import { eventually } from "../support/wait.js";

const EVCO = "DE-GQL-C00000001-7";
const NOTIFICATIONS = "/api/oicp/notificationmgmt/v11/charging-notifications";
const prefix = `redis-fault-${randomBytes(4).toString("hex")}:`;
let schema: TestSchema;
let redis: OwnRedis;
let a: TestGateway;
let b: TestGateway;
let alice: TestDriver;

beforeAll(async () => {
  schema = await createTestSchema();
  redis = await startOwnRedis();
  const env = { DATABASE_URL: schema.url, REDIS_URL: redis.url, REDIS_CHANNEL_PREFIX: prefix };
  a = await startTestGateway({ env });
  b = await startTestGateway({ env });
  alice = await driver("alice", [EVCO]);
  await a.graphql("{ chargingSessions(first: 1) { nodes { id } } }", {}, alice.token);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
  await schema?.drop();
});

const progress = (gw: TestGateway, sessionId: string, kwh: number) =>
  gw.postOicp(NOTIFICATIONS, {
    Type: "Progress",
    SessionID: sessionId,
    EvseID: "DE*SIM*E9000*1",
    Identification: { PlugAndChargeIdentification: { EvcoID: EVCO } },
    EventOccurred: new Date().toISOString(),
    ConsumedEnergyProgress: kwh,
  });
const pubsub = async (gw: TestGateway) => (await gw.gateway.readiness()).checks.pubsub;

it("changes made on both replicas while Redis is down reach the subscriber once, in order, when it is back", async () => {
  const watch = await subscribed(a.gateway, () => a.subscribe(alice.token, SESSION_UPDATED));
  await untilSubscribed(`${prefix}driver:updated:alice`, 1, redis.url);
  const first = await startedAtCharger(b, EVCO);
  await watch.waitFor((s) => s.hubjectSessionId === first && s.status === "CHARGING");

  await redis.stop();
  await eventually(async () => (await pubsub(a)) === "degraded" && (await pubsub(b)) === "degraded", "both replicas to report degraded");
  expect((await a.gateway.readiness()).ready).toBe(true); // still serving: starts, stops and reads work
  const heard = watch.events.length;

  // During the outage: changes on B and on A (whose own subscriber is also reached through Redis).
  expect((await progress(b, first, 1.25)).body.Result).toBe(true);
  expect((await progress(a, first, 2.5)).body.Result).toBe(true);
  const second = await startedAtCharger(a, EVCO);
  expect(watch.events.length).toBe(heard); // nothing arrives while Redis is down

  await redis.start();
  // No new event is needed: the catch-up brings what was missed.
  await watch.waitFor((s) => s.hubjectSessionId === first && s.consumedEnergyKwh === 2.5, 20_000);
  await watch.waitFor((s) => s.hubjectSessionId === second && s.status === "CHARGING", 20_000);
  await eventually(async () => (await pubsub(a)) === "ok" && (await pubsub(b)) === "ok", "both replicas to report ok again", 20_000);

  // Once and in order: per session, each change once and moving forward (updatedAt grows with
  // every version); the last one delivered is the one stored.
  for (const hubjectSessionId of [first, second]) {
    const changes = watch.events.filter((s) => s.hubjectSessionId === hubjectSessionId).map((s) => Date.parse(s.updatedAt));
    expect(changes).toEqual([...new Set(changes)].sort((x, y) => x - y));
    const stored = await a.gateway.store.findByHubjectSessionId(hubjectSessionId);
    expect(changes.at(-1)).toBe(stored!.updatedAt.getTime());
  }
  const metrics = await a.gateway.metrics!.registry.metrics();
  expect(metrics).toMatch(/gateway_pubsub_degraded 0/);
}, 90_000);
