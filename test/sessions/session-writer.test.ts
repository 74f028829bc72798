// SessionWriter, the one write path: the state machine decides, the store writes only at the
// version read, and what was written is published. Real store (SQLite in memory), real fan-out.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SessionEvent } from "../../src/sessions/session.js";
import type { SessionStore } from "../../src/sessions/session.store.js";
import { SessionWriter } from "../../src/sessions/session-writer.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import {
  collect,
  EVSE,
  HUBJECT_ID,
  later,
  ManualClock,
  newSession,
  notification,
  OTHER_EVSE,
  openStore,
  type RecordingEvents,
  recordingEvents,
  recordingMetrics,
} from "./support.js";

const ok = { code: "000", description: "Success", additionalInfo: null };

const accepted = (at = later(1_000)): SessionEvent => ({
  type: "START_ACCEPTED",
  at,
  hubjectSessionId: HUBJECT_ID,
  cpoPartnerSessionId: "CPO-778812",
  statusCode: ok,
});
// Charger events as the OICP reader makes them from the example payloads.
const started = (at = later(30_000)): SessionEvent => notification("Start", { ChargingStart: at.toISOString() }, at).event;
const progress = (minute: number, kwh: string): SessionEvent =>
  notification("Progress", { EventOccurred: later(minute * 60_000).toISOString(), ConsumedEnergyProgress: kwh }, later(minute * 60_000))
    .event;
const connectorError = (): SessionEvent => notification("Error", { SessionID: HUBJECT_ID, EvseID: EVSE }, later(90 * 60_000)).event;

/** The real store, with `beforeReplace` run before each conditional write: another writer getting in first. */
function racing(store: SessionStore, beforeReplace: () => Promise<void>) {
  let replaces = 0;
  const wrapped = new Proxy(store, {
    get(target, property) {
      if (property === "replace") {
        return async (next: Parameters<SessionStore["replace"]>[0]) => {
          replaces++;
          await beforeReplace();
          return target.replace(next);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: wrapped, replaces: () => replaces };
}

let store: SqlSessionStore;
let events: RecordingEvents;
let writer: SessionWriter;
const clock = new ManualClock();

beforeEach(async () => {
  store = await openStore();
  events = recordingEvents();
  writer = new SessionWriter({ store, events, clock });
});

afterEach(async () => {
  await events.close();
  await store.close();
});

describe("apply", () => {
  it("writes the next state at the next version and publishes exactly what it wrote", async () => {
    const created = await store.insert(newSession());

    const next = await writer.apply(created.id, accepted());

    expect(next).toMatchObject({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID, version: 2, lastStatusCode: ok });
    expect(await store.get(created.id)).toEqual(next);
    expect(events.published).toEqual([{ session: next, reannounce: false }]);
  });

  it("reaches the session's and the driver's subscribers", async () => {
    const created = await store.insert(newSession());
    const bySession = collect(events, { sessionId: created.id });
    const byDriver = collect(events, { driverId: "alice" });

    await writer.apply(created.id, accepted());

    expect((await bySession.until((s) => s.version === 2)).status).toBe("ACCEPTED");
    expect((await byDriver.until((s) => s.version === 2)).status).toBe("ACCEPTED");
    await Promise.all([bySession.stop(), byDriver.stop()]);
  });

  it("writes and publishes nothing when the event changes nothing, and returns the session as it is", async () => {
    const created = await store.insert(newSession());
    const first = await writer.apply(created.id, accepted());

    const again = await writer.apply(created.id, accepted(later(2_000)));
    const tooLate = await writer.apply(created.id, { type: "START_REJECTED", at: later(3_000), statusCode: { ...ok, code: "603" } });

    expect(again).toEqual(first);
    expect(tooLate).toEqual(first);
    expect(events.published.map((p) => p.session.version)).toEqual([2]);
  });

  it("answers undefined for a session that does not exist", async () => {
    expect(await writer.apply("no-such-session", accepted())).toBeUndefined();
    expect(events.published).toEqual([]);
  });

  it("reads again when another writer got in between, and keeps both changes", async () => {
    const created = await store.insert(newSession({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID }));
    const other = new SessionWriter({ store, events, clock });
    let interfered = false;
    const race = racing(store, async () => {
      if (interfered) return;
      interfered = true;
      await other.apply(created.id, started());
    });
    const loser = new SessionWriter({ store: race.store, events, clock });

    const next = await loser.apply(created.id, progress(10, "1.826"));

    expect(race.replaces()).toBe(2);
    expect(next).toMatchObject({ status: "CHARGING", consumedEnergyKwh: "1.826", chargingStartedAt: later(30_000), version: 3 });
    expect(await store.get(created.id)).toEqual(next);
    expect(events.published.map((p) => [p.session.version, p.session.status])).toEqual([
      [2, "CHARGING"],
      [3, "CHARGING"],
    ]);
  });

  it("loses no update when many writers apply at once", async () => {
    const created = await store.insert(newSession({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID }));
    const writers = Array.from({ length: 8 }, () => new SessionWriter({ store, events, clock }));

    await Promise.all(writers.map((w, i) => w.apply(created.id, progress(i + 1, `${i + 1}.000`))));

    const final = await store.get(created.id);
    // Each reading either lands or is older than one already written: the newest always wins.
    expect(final).toMatchObject({ status: "CHARGING", consumedEnergyKwh: "8.000", lastProgressAt: later(8 * 60_000) });
    const versions = events.published.map((p) => p.session.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect(Math.max(...versions)).toBe(final!.version);
  });

  it("gives up after 20 write conflicts in a row, having published nothing of its own", async () => {
    const created = await store.insert(newSession({ status: "CHARGING", hubjectSessionId: HUBJECT_ID }));
    const other = new SessionWriter({ store, events, clock });
    let minute = 0;
    const race = racing(store, async () => {
      minute++;
      await other.apply(created.id, progress(minute, `${minute}.000`));
    });
    const loser = new SessionWriter({ store: race.store, events, clock });

    await expect(loser.apply(created.id, connectorError())).rejects.toThrow(/gave up applying CHARGING_ERROR after 20 write conflicts/);

    expect(race.replaces()).toBe(20);
    expect(await store.get(created.id)).toMatchObject({ status: "CHARGING", version: 21 });
    expect(events.published.every((p) => p.session.status === "CHARGING")).toBe(true);
  });

  it("reports how long an app-started session took to reach CHARGING, once", async () => {
    const { metrics, recorded } = recordingMetrics();
    const measured = new SessionWriter({ store, events, clock, metrics });
    const app = await store.insert(newSession());
    const charger = await store.insert(newSession({ evseId: OTHER_EVSE, origin: "CHARGER", status: "ACCEPTED" }));

    await measured.apply(app.id, accepted());
    await measured.apply(app.id, started(later(42_000)));
    await measured.apply(app.id, progress(10, "1.826"));
    await measured.apply(
      charger.id,
      notification("Start", { SessionID: "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b", EvseID: OTHER_EVSE }).event,
    );

    expect(recorded.reachedCharging).toEqual([42]);
  });
});

describe("create", () => {
  it("inserts and publishes the new session at version 1", async () => {
    const created = await writer.create(newSession());

    expect(created).toMatchObject({ status: "REQUESTED", origin: "APP", version: 1 });
    expect(await store.get(created!.id)).toEqual(created);
    expect(events.published).toEqual([{ session: created, reannounce: false }]);
  });

  it("inserts nothing and publishes nothing when the driver's start at that EVSE is already in flight", async () => {
    const first = await writer.create(newSession());

    expect(await writer.create(newSession())).toBeNull();
    expect(await writer.create(newSession({ evseId: "de*abc*e1234*1" }))).toBeNull();
    expect(events.published.map((p) => p.session.id)).toEqual([first!.id]);
  });

  it("still creates a start of another driver, or at another EVSE", async () => {
    await writer.create(newSession());

    expect(await writer.create(newSession({ driverId: "bob" }))).not.toBeNull();
    expect(await writer.create(newSession({ evseId: OTHER_EVSE }))).not.toBeNull();
    expect(events.published).toHaveLength(3);
  });

  it("inserts nothing for a Hubject SessionID that already has its session", async () => {
    const first = await writer.create(newSession({ origin: "CHARGER", status: "ACCEPTED", hubjectSessionId: HUBJECT_ID }));

    const second = await writer.create(newSession({ origin: "CHARGER", status: "ACCEPTED", hubjectSessionId: HUBJECT_ID }));

    expect(second).toBeNull();
    expect(events.published.map((p) => p.session.id)).toEqual([first!.id]);
  });
});

describe("announce", () => {
  it("pushes the session again at the same version, to subscribers that already have it", async () => {
    const created = (await writer.create(newSession()))!;
    const subscriber = collect(events, { sessionId: created.id });
    const current = (await writer.apply(created.id, accepted()))!;
    await subscriber.until((s) => s.version === 2);

    writer.announce(current);
    events.publish(current); // an ordinary repeat of the same version is dropped by the fan-out
    writer.announce(current);
    await writer.apply(created.id, started());

    await subscriber.until((s) => s.version === 3);
    expect(subscriber.items.map((s) => s.version)).toEqual([2, 2, 2, 3]);
    expect(events.published.slice(2, 5).map((p) => [p.session.version, p.reannounce])).toEqual([
      [2, true],
      [2, false],
      [2, true],
    ]);
    await subscriber.stop();
  });
});
