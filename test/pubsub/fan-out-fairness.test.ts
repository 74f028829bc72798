// Fair delivery (issue 12), as a mechanism: one change for many subscriptions is handed over in
// slices, with a turn of the event loop between them, so that what else waits (another driver's
// request, here a setImmediate scheduled right after the publish) runs before the fan-out ends;
// and a subscription that does not read holds a bounded backlog. Orderings only, no timings:
// speed is bench/hot-session.mjs's business.
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { DELIVERY_SLICE, MAX_PENDING } from "../../src/pubsub/fan-out.js";
import { createInProcessSessionEvents } from "../../src/pubsub/in-process.js";
import type { SessionEvents } from "../../src/sessions/ports.js";
import type { ChargingSession } from "../../src/sessions/session.js";
import { eventually } from "../support/wait.js";
import { atVersion, bareSession } from "./session-events.support.js";

const silent = pino({ level: "silent" });
let stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(stops.map((stop) => stop()));
  stops = [];
});

/** Reads `iterable` at once (a subscription registers on its first read), calling `onEvent` for each change. */
function consume(iterable: AsyncIterable<ChargingSession>, onEvent: (session: ChargingSession) => void): void {
  const iterator = iterable[Symbol.asyncIterator]();
  stops.push(async () => iterator.return?.());
  void (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      onEvent(next.value);
    }
  })();
}

describe("fair delivery", () => {
  it("hands one change to many subscriptions in slices: work scheduled after the publish runs before the fan-out ends", async () => {
    const events = createInProcessSessionEvents({ logger: silent });
    const hot = bareSession(1, { driverId: "hot" });
    const order: string[] = [];
    const subscribers = 10 * DELIVERY_SLICE;
    for (let i = 0; i < subscribers; i++) consume(events.subscribe({ sessionId: hot.id }), () => order.push("hot"));

    events.publish(hot);
    // Another driver's work, arriving while the fan-out is under way (an HTTP request is an I/O
    // callback, served in the same turns of the loop as this).
    setImmediate(() => order.push("other driver"));
    await eventually(() => order.filter((e) => e === "hot").length === subscribers, "every subscriber to get the change");

    const before = order.indexOf("other driver");
    // The first slice went at once (no added latency for a small fan-out), later ones after a
    // turn each, and the other work ran between two of them, long before the last.
    expect(before).toBeGreaterThanOrEqual(DELIVERY_SLICE);
    expect(before % DELIVERY_SLICE).toBe(0);
    expect(before).toBeLessThanOrEqual(subscribers - DELIVERY_SLICE);
  });

  it("a small fan-out is handed over within the publishing turn", async () => {
    const events = createInProcessSessionEvents({ logger: silent });
    const session = bareSession(1);
    const order: string[] = [];
    for (let i = 0; i < DELIVERY_SLICE; i++) consume(events.subscribe({ driverId: session.driverId }), () => order.push("delivered"));
    events.publish(session);
    setImmediate(() => order.push("next turn"));
    await eventually(() => order.includes("next turn"), "the next turn");
    expect(order).toEqual([...Array.from({ length: DELIVERY_SLICE }, () => "delivered"), "next turn"]);
  });

  it("another driver's change waits for one pass over a hot session's subscriptions, not for its whole backlog; each subscription keeps its order", async () => {
    const events = createInProcessSessionEvents({ logger: silent, deliverySlice: 3 });
    const hot = bareSession(0, { driverId: "hot" });
    const calm = bareSession(0, { driverId: "calm" });
    const received: Array<[string, number]> = [];
    const seen = new Map<string, number[]>();
    const watch = (name: string, topic: Parameters<SessionEvents["subscribe"]>[0]) => {
      seen.set(name, []);
      consume(events.subscribe(topic), (s) => {
        seen.get(name)!.push(s.version);
        received.push([s.driverId, s.version]);
      });
    };
    const hotSubscribers = 10;
    for (let i = 0; i < hotSubscribers; i++) watch(`hot-${i}`, { sessionId: hot.id });
    watch("calm", { driverId: "calm" });

    const versions = 5;
    for (let version = 1; version <= versions; version++) events.publish(atVersion(hot, version));
    events.publish(atVersion(calm, 1));
    const all = hotSubscribers * versions + 1;
    await eventually(() => received.length === all, "every change at every subscription");

    for (const [name, got] of seen) expect(got, name).toEqual(name === "calm" ? [1] : [1, 2, 3, 4, 5]);
    // Published after all of the hot session's changes, yet handed over once every hot
    // subscription had had one turn: consumers are woken in turn, not backlog by backlog.
    const calmAt = received.findIndex(([driverId]) => driverId === "calm");
    expect(calmAt).toBeLessThanOrEqual(2 * hotSubscribers);
  });
});

describe("bounded buffers", () => {
  it("a subscription that does not read keeps at most MAX_PENDING changes, then the latest of each session, in order", async () => {
    const events = createInProcessSessionEvents({ logger: silent });
    const sessions = [bareSession(0), bareSession(0), bareSession(0)].map((s) => ({ ...s, driverId: "slow" }));
    const slow = events.subscribe({ driverId: "slow" })[Symbol.asyncIterator]();
    stops.push(async () => slow.return?.());
    // Registered by its first read, which then waits for the first change.
    const first = slow.next();
    const versions = 1_000;
    for (let version = 1; version <= versions; version++) for (const session of sessions) events.publish(atVersion(session, version));
    expect((await first).value).toMatchObject({ id: sessions[0]!.id, version: 1 });
    // A change of a fourth session, published last, is read last: what came before it is all there is.
    const last = { ...bareSession(1), driverId: "slow" };
    events.publish(last);
    const rest: ChargingSession[] = [];
    for (;;) {
      const next = await slow.next();
      if (next.done || next.value.id === last.id) break;
      rest.push(next.value);
    }
    expect(rest.length).toBeLessThanOrEqual(MAX_PENDING);
    for (const session of sessions) {
      const its = rest.filter((s) => s.id === session.id).map((s) => s.version);
      expect(
        its.every((v, i) => i === 0 || v > its[i - 1]!),
        its.join(","),
      ).toBe(true);
      expect(its.at(-1)).toBe(versions);
    }
  });
});
