// SessionEvents: the in-process adapter and the Redis adapter (real Redis on REDIS_URL, one
// unique channel prefix per test), with several "replicas" publishing and subscribing.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { redactRedisUrl } from "../../src/pubsub/redis.js";
import { deserializeSessionEnvelope, SESSION_WIRE_FORMAT, serializeSessionEnvelope } from "../../src/pubsub/wire.js";
import type { SessionEvents } from "../../src/sessions/ports.js";
import type { ChargingSession } from "../../src/sessions/session.js";
import { eventually } from "../support/wait.js";
import {
  ADAPTERS,
  atVersion,
  bareSession,
  type Collector,
  captureLogger,
  collect,
  deadPort,
  fullSession,
  INFO,
  killConnections,
  REDIS_URL,
  redisEvents,
  settled,
  uniquePrefix,
  WARN,
} from "./session-events.support.js";

let opened: SessionEvents[] = [];
let collectors: Collector[] = [];
const track = (events: SessionEvents) => void opened.push(events);
const watch = (iterable: AsyncIterable<ChargingSession>): Collector => {
  const collector = collect(iterable);
  collectors.push(collector);
  return collector;
};

afterEach(async () => {
  await Promise.all(collectors.map((collector) => collector.stop()));
  await Promise.all([...new Set(opened)].map((events) => events.close()));
  collectors = [];
  opened = [];
});

/**
 * Nothing more is on its way from `publishers` to the subscriptions on `subscribers`: each
 * publisher sends a marker after its changes (a session of a driver no test uses), and every
 * subscriber replica receives all of them. One connection's messages reach a subscriber in the
 * order they were sent (in-process: at once, in order), so what a publisher sent before its
 * marker has been delivered when the marker has.
 */
async function nothingMoreFrom(publishers: SessionEvents[], subscribers: SessionEvents[]): Promise<void> {
  const driverId = `marker-${randomUUID()}`;
  const markers = [...new Set(subscribers)].map((replica) => watch(replica.subscribe({ driverId })));
  await settled([...publishers, ...subscribers]);
  const senders = [...new Set(publishers)];
  for (const publisher of senders) publisher.publish(bareSession(1, { driverId }));
  for (const received of markers) await eventually(() => received.events.length === senders.length, "every publisher's marker");
}

const isIncreasing = (versions: number[]) => versions.every((version, i) => i === 0 || version > versions[i - 1]!);

function expectDates(session: ChargingSession) {
  for (const field of [
    "requestedAt",
    "chargingStartedAt",
    "chargingEndedAt",
    "sessionStartedAt",
    "sessionEndedAt",
    "stopRequestedAt",
    "updatedAt",
    "lastProgressAt",
    "lastEventAt",
  ] as const) {
    const value = session[field];
    if (value !== null) expect(value, field).toBeInstanceOf(Date);
  }
  const record = session.chargeDetailRecord;
  if (record) {
    for (const field of ["sessionStart", "sessionEnd", "chargingStart", "chargingEnd", "receivedAt"] as const) {
      expect(record[field], `chargeDetailRecord.${field}`).toBeInstanceOf(Date);
    }
  }
}

describe.each(ADAPTERS)("$name adapter", (kind) => {
  const deployment = () => kind.deployment(track);

  it("a subscriber on another replica, by session and by driver, receives each change once, equal to what was published", async () => {
    const [a, b] = deployment().replicas(2) as [SessionEvents, SessionEvents];
    const first = bareSession(1);
    const second = fullSession(2, { id: first.id, driverId: first.driverId });
    const bySession = watch(b.subscribe({ sessionId: first.id }));
    const byDriver = watch(b.subscribe({ driverId: first.driverId }));
    await settled([a, b]);

    a.publish(first);
    a.publish(second);
    await eventually(() => bySession.events.length >= 2 && byDriver.events.length >= 2, "both changes on both subscriptions");
    await nothingMoreFrom([a], [b]);

    for (const collector of [bySession, byDriver]) {
      expect(collector.versions()).toEqual([1, 2]);
      expect(collector.events[0]).toEqual(first);
      expect(collector.events[1]).toEqual(second);
      collector.events.forEach(expectDates);
      expect(collector.events[1]!.chargeDetailRecord!.raw).toEqual(second.chargeDetailRecord!.raw);
    }
  });

  it("three publishers interleaving versions 1..50 of one session: every subscriber sees strictly increasing versions ending at 50", async () => {
    const replicas = deployment().replicas(3);
    const session = bareSession(0);
    const watchers = replicas.flatMap((replica) => [
      watch(replica.subscribe({ sessionId: session.id })),
      watch(replica.subscribe({ driverId: session.driverId })),
    ]);
    await settled(replicas);

    for (let version = 1; version <= 50; version++) replicas[version % 3]!.publish(atVersion(session, version));
    for (const watcher of watchers) await eventually(() => watcher.versions().at(-1) === 50, "version 50");
    await nothingMoreFrom(replicas, replicas);

    for (const watcher of watchers) {
      const versions = watcher.versions();
      expect(isIncreasing(versions), versions.join(",")).toBe(true);
      expect(versions.at(-1)).toBe(50);
    }
  });

  it("every replica publishing every version (duplicates): each version arrives at most once, in order", async () => {
    const replicas = deployment().replicas(3);
    const session = bareSession(0);
    const watcher = watch(replicas[1]!.subscribe({ sessionId: session.id }));
    const byDriver = watch(replicas[2]!.subscribe({ driverId: session.driverId }));
    await settled(replicas);

    for (let version = 1; version <= 20; version++) for (const replica of replicas) replica.publish(atVersion(session, version));
    for (const collector of [watcher, byDriver]) await eventually(() => collector.versions().at(-1) === 20, "version 20");
    await nothingMoreFrom(replicas, [replicas[1]!, replicas[2]!]);

    for (const collector of [watcher, byDriver]) {
      const versions = collector.versions();
      expect(isIncreasing(versions), versions.join(",")).toBe(true);
      expect(new Set(versions).size).toBe(versions.length);
    }
  });

  it("a stale version published after a newer one is dropped; only a re-announcement may repeat the latest", async () => {
    const [a, b] = deployment().replicas(2) as [SessionEvents, SessionEvents];
    const session = bareSession(0);
    const bySession = watch(a.subscribe({ sessionId: session.id }));
    const byDriver = watch(b.subscribe({ driverId: session.driverId }));
    await settled([a, b]);

    a.publish(atVersion(session, 7));
    await eventually(() => bySession.events.length === 1 && byDriver.events.length === 1, "version 7");
    // From one replica, in this order (one connection keeps its order):
    b.publish(atVersion(session, 6)); // stale
    b.publish(atVersion(session, 7)); // duplicate
    b.publish(atVersion(session, 7), { reannounce: true }); // e.g. it turned stale: pushed again
    b.publish(atVersion(session, 6), { reannounce: true }); // a re-announcement is never older
    b.publish(atVersion(session, 8));
    await eventually(() => bySession.versions().at(-1) === 8 && byDriver.versions().at(-1) === 8, "version 8");
    await nothingMoreFrom([a, b], [a, b]);

    expect(bySession.versions()).toEqual([7, 7, 8]);
    expect(byDriver.versions()).toEqual([7, 7, 8]);
  });

  it("versions are tracked per session: an older version of one session does not hold back another", async () => {
    const [a, b] = deployment().replicas(2) as [SessionEvents, SessionEvents];
    const one = bareSession(0);
    const two = bareSession(0, { driverId: one.driverId });
    const byDriver = watch(b.subscribe({ driverId: one.driverId }));
    await settled([a, b]);

    a.publish(atVersion(one, 9));
    a.publish(atVersion(two, 1));
    a.publish(atVersion(one, 3));
    a.publish(atVersion(two, 2));
    await eventually(() => byDriver.events.length >= 3, "three changes");
    await nothingMoreFrom([a], [b]);

    expect(byDriver.events.map((s) => [s.id === one.id ? "one" : "two", s.version])).toEqual([
      ["one", 9],
      ["two", 1],
      ["two", 2],
    ]);
  });

  it("routing: a subscriber of session X never receives session Y, another driver's subscription never receives it", async () => {
    const [a, b] = deployment().replicas(2) as [SessionEvents, SessionEvents];
    const x = bareSession(0, { driverId: "driver-1" });
    const y = bareSession(0, { driverId: "driver-1" });
    const z = bareSession(0, { driverId: "driver-2" });
    const ofX = watch(b.subscribe({ sessionId: x.id }));
    const ofDriver1 = watch(b.subscribe({ driverId: "driver-1" }));
    const ofDriver2 = watch(b.subscribe({ driverId: "driver-2" }));
    await settled([a, b]);

    for (let version = 1; version <= 5; version++) a.publish(atVersion(y, version));
    a.publish(atVersion(x, 1)); // after Y's changes, from the same replica: when X arrives, Y would have
    a.publish(atVersion(z, 1));
    await eventually(
      () => ofX.events.length === 1 && ofDriver2.events.length === 1 && ofDriver1.events.length === 6,
      "X, Z and driver-1's changes",
    );
    await nothingMoreFrom([a], [b]);

    expect(ofX.events.map((s) => s.id)).toEqual([x.id]);
    expect(ofDriver2.events.map((s) => s.id)).toEqual([z.id]);
    expect(new Set(ofDriver1.events.map((s) => s.driverId))).toEqual(new Set(["driver-1"]));
    expect(ofDriver1.events.map((s) => s.id)).not.toContain(z.id);
  });

  it("ping resolves; close() ends live subscriptions, is idempotent, and a publish after it is a no-op", async () => {
    const [a] = deployment().replicas(1) as [SessionEvents];
    await expect(a.ping()).resolves.toBeUndefined();
    const session = bareSession(1);
    const subscription = watch(a.subscribe({ sessionId: session.id }));
    await settled([a]);
    await a.close();
    await a.close();
    if (kind.name === "redis") await subscription.ended; // in-process close() keeps nothing open, ends nothing
    expect(() => a.publish(session)).not.toThrow();
  });
});

describe("redis adapter", () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
    return async () => void (await admin.quit());
  });

  it("wire format: JSON with the format, the re-announce flag and the session, Dates as ISO-8601 UTC strings", async () => {
    const channelPrefix = uniquePrefix();
    const a = redisEvents({ channelPrefix });
    track(a);
    const session = fullSession(4);
    const raw = new Redis(REDIS_URL);
    const messages: Array<[string, string]> = [];
    try {
      raw.on("message", (channel: string, message: string) => void messages.push([channel, message]));
      await raw.subscribe(`${channelPrefix}session:updated:${session.id}`, `${channelPrefix}driver:updated:${session.driverId}`);
      a.publish(session);
      await eventually(() => messages.length === 2, "two messages");
    } finally {
      await raw.quit();
    }
    expect(messages.map(([channel]) => channel)).toEqual([
      `${channelPrefix}session:updated:${session.id}`,
      `${channelPrefix}driver:updated:${session.driverId}`,
    ]);
    const wire = JSON.parse(messages[0]![1]);
    expect(wire).toMatchObject({ format: SESSION_WIRE_FORMAT, reannounce: false });
    expect(wire.session).toMatchObject({
      id: session.id,
      version: 4,
      requestedAt: "2024-05-01T10:00:00.000Z",
      lastProgressAt: "2024-05-01T11:25:00.250Z",
      chargeDetailRecord: { sessionStart: "2024-05-01T10:01:00.123Z", consumedEnergyKwh: "21.354", raw: session.chargeDetailRecord!.raw },
    });
    expect(messages[1]![1]).toBe(messages[0]![1]);
  });

  it("the deserializer rebuilds the session field by field and refuses what it cannot read", () => {
    for (const session of [fullSession(3), bareSession(1)]) {
      const read = deserializeSessionEnvelope(serializeSessionEnvelope({ session, reannounce: true }));
      expect(read).toEqual({ envelope: { session, reannounce: true } });
    }
    const wire = JSON.parse(serializeSessionEnvelope({ session: fullSession(3), reannounce: false }));
    const broken = (change: (w: any) => void) => {
      const copy = structuredClone(wire);
      change(copy);
      return deserializeSessionEnvelope(JSON.stringify(copy));
    };
    expect(broken((w) => (w.format = 2))).toEqual({ error: "unknown format 2" });
    expect(broken((w) => (w.session.requestedAt = "yesterday"))).toEqual({ error: "requestedAt: not a date" });
    expect(broken((w) => (w.session.chargeDetailRecord.receivedAt = 5))).toEqual({ error: "chargeDetailRecord.receivedAt: not a string" });
    expect(broken((w) => (w.session.status = "PARTY"))).toEqual({ error: "status: unknown value" });
    expect(broken((w) => delete w.session.version)).toEqual({ error: "version: not a version" });
    expect(broken((w) => (w.session.evcoId = null))).toEqual({ error: "evcoId: not a string" });
    expect(deserializeSessionEnvelope("{not json")).toHaveProperty("error");
    expect(deserializeSessionEnvelope("[]")).toEqual({ error: "message: not an object" });
    // An extra field from a newer replica is ignored, not passed on.
    const extra = deserializeSessionEnvelope(JSON.stringify({ ...wire, session: { ...wire.session, futureField: 1 } }));
    expect("envelope" in extra && "futureField" in extra.envelope.session).toBe(false);
  });

  it("an unreadable message on a channel is dropped and logged (without its content); the subscription goes on", async () => {
    const { logger, lines, text } = captureLogger();
    const channelPrefix = uniquePrefix();
    const b = redisEvents({ channelPrefix, logger });
    track(b);
    const session = fullSession(2);
    const subscription = watch(b.subscribe({ sessionId: session.id }));
    await settled([b]);

    const channel = `${channelPrefix}session:updated:${session.id}`;
    await admin.publish(channel, "{not json");
    await admin.publish(channel, JSON.stringify({ format: 1, reannounce: false, session: { id: session.id, evcoId: "DE-SECRET-EVCO" } }));
    await admin.publish(channel, serializeSessionEnvelope({ session, reannounce: false }));
    await eventually(() => subscription.events.length === 1, "the readable change");

    expect(subscription.events[0]).toEqual(session);
    expect(lines.filter((line) => line.msg === "unreadable session event from redis: dropped")).toHaveLength(2);
    expect(text()).not.toContain("DE-SECRET-EVCO");
  });

  it("channel prefixes keep deployments apart on one Redis", async () => {
    const one = redisEvents({ channelPrefix: uniquePrefix() });
    const other = redisEvents({ channelPrefix: uniquePrefix() });
    track(one);
    track(other);
    const session = bareSession(1);
    const onOther = watch(other.subscribe({ sessionId: session.id }));
    const onOne = watch(one.subscribe({ sessionId: session.id }));
    await settled([one, other]);
    one.publish(session);
    await eventually(() => onOne.events.length === 1, "the change on its own deployment");
    // Redis has handled one's PUBLISH (onOne has it), so a copy for `other` would be queued before
    // anything published after it: here `other`'s own marker.
    await nothingMoreFrom([other], [other]);
    expect(onOther.events).toEqual([]);
  });

  it("while Redis is unreachable: publish() never throws, failures are logged once, the password never; ping() rejects; close() returns", async () => {
    const { logger, lines, text } = captureLogger();
    const port = await deadPort();
    const events = redisEvents({
      url: `redis://gateway:s3cr3t-pw@127.0.0.1:${port}`,
      logger,
      pingTimeoutMs: 300,
      redisOptions: { maxRetriesPerRequest: 1, retryStrategy: () => 20 },
    });
    track(events);
    const subscription = watch(events.subscribe({ sessionId: "nobody" }));
    const session = bareSession(1);
    for (let version = 1; version <= 5; version++) expect(() => events.publish(atVersion(session, version))).not.toThrow();
    await expect(events.ping()).rejects.toThrow();
    await eventually(() => lines.some((line) => line.msg.startsWith("a session event could not be published")), "the publish failure");
    // The subscribe connection gave up on its SUBSCRIBE too: every command of both connections has
    // failed, and an unhandled rejection (vitest fails the run on them) would have surfaced with it.
    await eventually(
      () => lines.some((line) => line.msg.startsWith("subscribing to session events in redis failed")),
      "the subscribe failure",
    );

    const warnings = lines.filter((line) => line.level === WARN);
    expect(warnings.filter((line) => line.msg.startsWith("redis unreachable"))).toHaveLength(2); // once per connection, not per retry
    expect(warnings.filter((line) => line.msg.startsWith("a session event could not be published"))).toHaveLength(1);
    expect(warnings[0]!.redis).toBe(`redis://gateway:***@127.0.0.1:${port}`);
    expect(text()).not.toContain("s3cr3t-pw");

    const started = Date.now();
    await events.close();
    await subscription.ended;
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a dropped connection is logged (warn), reconnected, logged again (info), and delivery resumes", async () => {
    const { logger, lines } = captureLogger();
    const channelPrefix = uniquePrefix();
    const name = `test-kill-${Date.now()}`;
    const a = redisEvents({ channelPrefix });
    const b = redisEvents({ channelPrefix, logger, redisOptions: { connectionName: name } });
    track(a);
    track(b);
    const session = bareSession(0);
    const subscription = watch(b.subscribe({ sessionId: session.id }));
    await settled([a, b]);
    a.publish(atVersion(session, 1));
    await eventually(() => subscription.events.length === 1, "the first change");

    expect(await killConnections(admin, name)).toBe(2);
    await eventually(() => lines.filter((line) => line.msg === "redis connection recovered").length === 2, "both connections recovered");
    let version = 1;
    await eventually(() => {
      a.publish(atVersion(session, ++version)); // until the subscription is back (ioredis resubscribes)
      return subscription.events.length > 1;
    }, "a change after the reconnection");

    expect(lines.filter((line) => line.level === WARN && line.msg === "redis connection lost: reconnecting")).toHaveLength(2);
    expect(lines.filter((line) => line.level === INFO && line.msg === "redis connection recovered")).toHaveLength(2);
    expect(isIncreasing(subscription.versions())).toBe(true);
    await expect(b.ping()).resolves.toBeUndefined();
  });

  it("close() leaves no open handles: a process that used the adapter exits by itself", async () => {
    const script = fileURLToPath(new URL("./session-events.exit-check.mjs", import.meta.url));
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, [script, REDIS_URL], { timeout: 15_000 }, (error, out) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout: out }),
      );
      child.stdin?.end();
    });
    expect(stdout).toContain("received 1 with dates");
    expect(stdout).toContain("subscription ended");
    expect(stdout).toContain("closed");
    expect(code).toBe(0);
  });

  it("redacts the password of a Redis URL", () => {
    expect(redactRedisUrl("redis://:pw@host:6379/0")).toBe("redis://:***@host:6379/0");
    expect(redactRedisUrl("rediss://user:pw@host:6380")).toBe("rediss://user:***@host:6380");
    expect(redactRedisUrl("redis://host:6379")).toBe("redis://host:6379");
    expect(redactRedisUrl("not a url with pw")).toBe("[unparseable redis url]");
  });
});
