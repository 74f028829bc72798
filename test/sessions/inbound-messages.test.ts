// What Hubject tells us: the example notifications and CDR, read by the real OICP reader, stored
// in the real store, matched to their session and applied through the one write path.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewSession } from "../../src/sessions/session.store.js";
import {
  CONTRACT,
  chargeDetailRecord,
  collect,
  driver,
  EVSE,
  HUBJECT_ID,
  later,
  type Message,
  newSession,
  notification,
  OTHER_CONTRACT,
  OTHER_EVSE,
  openWorld,
  outcome,
  remoteIdentification,
  T0,
  type World,
  waitingMessages,
} from "./support.js";

const WINDOW_MS = 15 * 60_000;
/** A SessionID no session knows. */
const STRANGER = "9e2d6c4b-1a3f-4b7e-8c5d-2f4a6b8c0d1e";
/** Another session at the charger, with Alice's contract. */
const NEXT_DAY = "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b";
/** No EMPPartnerSessionID and no Identification: nothing but the SessionID to match by. */
const anonymous = { EMPPartnerSessionID: null, Identification: null };

let world: World;
beforeEach(async () => {
  world = await openWorld({ matchWindowMs: WINDOW_MS });
});
afterEach(() => world.close());

/** A session of Alice's, created through the write path (REQUESTED at T0 unless told otherwise). */
const session = async (fields: Partial<NewSession> = {}) => (await world.service.writer.create(newSession(fields)))!;
const receive = (message: Message) => world.service.receive(message.delivery);
const waiting = (hubjectSessionId: string) => waitingMessages(world.store, hubjectSessionId);
const sessionsOf = async (driverId: string) => (await world.store.listForDriver({ driverId, first: 10 })).sessions;

describe("receive", () => {
  it("stores the message, applies it to its session, and marks it applied", async () => {
    const accepted = await session({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID });
    const updates = collect(world.events, { sessionId: accepted.id });

    const result = await receive(notification("Start", {}, new Date("2024-06-12T16:03:41Z")));

    expect(result).toMatchObject({ duplicate: false, session: { id: accepted.id, status: "CHARGING" } });
    expect(result.session?.chargingStartedAt).toEqual(new Date("2024-06-12T16:03:11Z"));
    expect(await world.store.get(accepted.id)).toEqual(result.session);
    expect(await waiting(HUBJECT_ID)).toEqual([]);
    expect((await updates.until((s) => s.status === "CHARGING")).version).toBe(2);
    expect(world.recorded.inbound).toEqual([["Start", "applied", 30]]);
    await updates.stop();
  });

  it("a duplicate changes nothing and publishes nothing", async () => {
    const accepted = await session({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID });
    await receive(notification("Start"));
    await receive(notification("Progress"));
    const before = await world.store.get(accepted.id);
    const published = world.events.published.length;

    expect(await receive(notification("Start", {}, later(5 * 60_000)))).toMatchObject({
      duplicate: true,
      state: "duplicate",
      session: null,
    });
    expect(await receive(notification("Progress"))).toMatchObject({ duplicate: true, state: "duplicate", session: null });
    await receive(chargeDetailRecord());
    expect(await receive(chargeDetailRecord({}, later(4 * 3_600_000)))).toMatchObject({
      duplicate: true,
      state: "duplicate",
      session: null,
    });

    expect((await world.store.get(accepted.id))?.version).toBe(before!.version + 1); // the CDR only
    expect(world.events.published).toHaveLength(published + 1);
    expect(world.recorded.inbound.map(([type, result]) => `${type} ${result}`)).toEqual([
      "Start applied",
      "Progress applied",
      "Start duplicate",
      "Progress duplicate",
      "CDR applied",
      "CDR duplicate",
    ]);
  });

  it("keeps a message (and a CDR) for a session nobody knows, creating nothing", async () => {
    const start = await receive(notification("Start", { SessionID: STRANGER, ...anonymous }));
    const cdr = await receive(chargeDetailRecord({ SessionID: STRANGER, EMPPartnerSessionID: null }));

    expect(start).toMatchObject({ duplicate: false, state: "waiting", session: null });
    expect(cdr).toMatchObject({ duplicate: false, state: "waiting", session: null });
    expect((await waiting(STRANGER)).map((m: { type: string | null }) => m.type)).toEqual(["Start", "CDR"]);
    expect(world.events.published).toEqual([]);
  });
});

describe("a message before the start answer", () => {
  it("is kept, and applied once the answer names its SessionID", async () => {
    const answer = world.hubject.holdStart();
    const call = world.hubject.nextCall();
    const starting = world.service.startCharging(driver(), { evseId: EVSE });
    await call;

    expect(await receive(notification("Start", anonymous))).toMatchObject({ duplicate: false, state: "waiting", session: null });
    expect(await receive(notification("Progress", anonymous))).toMatchObject({ duplicate: false, state: "waiting", session: null });
    answer.resolve(outcome.accepted(HUBJECT_ID));
    const { session: settled } = await starting;

    expect(settled).toMatchObject({ status: "CHARGING", hubjectSessionId: HUBJECT_ID, consumedEnergyKwh: "1.826" });
    expect(await world.store.get(settled!.id)).toEqual(settled);
    expect(await waiting(HUBJECT_ID)).toEqual([]);
  });

  it("applyMessagesFor applies only the waiting messages of the session's EVSE, oldest first", async () => {
    await receive(notification("Start", anonymous));
    await receive(notification("Progress", { ...anonymous, EvseID: OTHER_EVSE }));
    await receive(notification("End", anonymous));
    const accepted = await session({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID });

    const applied = await world.service.inbound.applyMessagesFor(accepted);

    expect(applied).toMatchObject({ status: "CHARGING_ENDED", consumedEnergyKwh: "21.343", chargingStartedAt: expect.any(Date) });
    expect((await waiting(HUBJECT_ID)).map((m: { type: string | null; evseId: string | null }) => [m.type, m.evseId])).toEqual([
      ["Progress", OTHER_EVSE],
    ]);
    expect(await world.service.inbound.applyMessagesFor({ ...accepted, hubjectSessionId: null })).toBeUndefined();
  });

  it("is matched by our EMPPartnerSessionID, and the late answer does not move the session back", async () => {
    const answer = world.hubject.holdStart();
    const call = world.hubject.nextCall();
    const starting = world.service.startCharging(driver(), { evseId: EVSE });
    await call;
    const [requested] = await sessionsOf("alice");

    const early = await receive(notification("Start", { EMPPartnerSessionID: requested!.id, Identification: null }));
    answer.resolve(outcome.accepted(HUBJECT_ID));
    const { session: settled } = await starting;

    expect(early.session).toMatchObject({ id: requested!.id, status: "CHARGING", hubjectSessionId: HUBJECT_ID });
    expect(settled).toMatchObject({ id: requested!.id, status: "CHARGING" });
  });

  it("is not matched by our EMPPartnerSessionID at another EVSE", async () => {
    const requested = await session();

    const result = await receive(notification("Start", { EMPPartnerSessionID: requested.id, Identification: null, EvseID: OTHER_EVSE }));

    expect(result.session).toBeNull();
    expect((await world.store.get(requested.id))?.status).toBe("REQUESTED");
  });

  it("is matched by EvseID and EvcoID within the window, in any letter case", async () => {
    const requested = await session();

    const result = await receive(
      notification(
        "Start",
        { EMPPartnerSessionID: null, EvseID: "de*abc*E1234*1", Identification: remoteIdentification("de-dcb-C12345678-x") },
        later(WINDOW_MS - 1_000),
      ),
    );

    expect(result.session).toMatchObject({ id: requested.id, status: "CHARGING", hubjectSessionId: HUBJECT_ID });
  });

  it("is not matched by EvseID and EvcoID outside the window, nor with another contract", async () => {
    const requested = await session();

    const late = await receive(notification("Start", { EMPPartnerSessionID: null }, later(WINDOW_MS + 1_000)));
    const otherContract = await receive(
      notification("Progress", { EMPPartnerSessionID: null, Identification: remoteIdentification(OTHER_CONTRACT) }),
    );

    expect([late.session, otherContract.session]).toEqual([null, null]);
    expect(await world.store.get(requested.id)).toMatchObject({ status: "REQUESTED", hubjectSessionId: null });
  });
});

describe("a session started at the charger", () => {
  it("is created for the contract holder, published to them, and followed to its CDR", async () => {
    await world.store.recordDriverContracts("alice", [CONTRACT]);
    const updates = collect(world.events, { driverId: "alice" });

    const started = await receive(notification("Start", { EMPPartnerSessionID: "CPO-side-id" }));
    await receive(notification("Progress"));
    const completed = await receive(chargeDetailRecord());

    expect(started.session).toMatchObject({
      driverId: "alice",
      origin: "CHARGER",
      hubjectSessionId: HUBJECT_ID,
      evseId: EVSE,
      evcoId: CONTRACT,
      status: "CHARGING",
      requestedAt: new Date("2024-06-12T16:02:41Z"), // its SessionStart
    });
    expect(completed.session).toMatchObject({ id: started.session!.id, status: "COMPLETED", consumedEnergyKwh: "21.343" });
    await updates.until((s) => s.status === "COMPLETED");
    expect(updates.items.map((s) => [s.version, s.status])).toEqual([
      [1, "ACCEPTED"],
      [2, "CHARGING"],
      [3, "CHARGING"],
      [4, "COMPLETED"],
    ]);
    expect(await sessionsOf("alice")).toHaveLength(1);
    expect(world.hubject.starts).toEqual([]);
    await updates.stop();
  });

  it("is not created for a contract no driver holds", async () => {
    await world.store.recordDriverContracts("alice", [CONTRACT]);

    const result = await receive(notification("Start", { Identification: remoteIdentification(OTHER_CONTRACT) }));

    expect(result.session).toBeNull();
    expect(await waiting(HUBJECT_ID)).toHaveLength(1);
  });
});

describe("applyWaitingMessages", () => {
  it("applies the messages of the window that now find their session, and counts them", async () => {
    await receive(notification("Start", {}, later(60_000)));
    await receive(notification("Progress", {}, later(10 * 60_000)));
    await receive(notification("Start", { SessionID: STRANGER, ...anonymous }, later(11 * 60_000)));
    await receive(notification("Start", { SessionID: NEXT_DAY, EvseID: OTHER_EVSE }, later(24 * 3_600_000)));
    await world.store.recordDriverContracts("alice", [CONTRACT]); // the driver signed in since

    const applied = await world.service.applyWaitingMessages(T0, later(3_600_000), 100);

    expect(applied).toBe(2);
    const [created, ...others] = await sessionsOf("alice");
    expect(created).toMatchObject({ origin: "CHARGER", hubjectSessionId: HUBJECT_ID, status: "CHARGING", consumedEnergyKwh: "1.826" });
    expect(others).toEqual([]);
    expect(await waiting(HUBJECT_ID)).toEqual([]);
    expect(await waiting(STRANGER)).toHaveLength(1); // still nobody's
    expect(await waiting(NEXT_DAY)).toHaveLength(1); // outside the window
  });

  it("finds nothing to do when every message has its session", async () => {
    await session({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID });
    await receive(notification("Start"));

    expect(await world.service.applyWaitingMessages(T0, later(3_600_000), 100)).toBe(0);
  });
});
