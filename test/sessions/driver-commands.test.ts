// startCharging / stopCharging on the real store and fan-out, against a scripted Hubject: what is
// refused up front, what reaches Hubject (once), and how every outcome lands on the session.
import { GraphQLError } from "graphql";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rateLimited } from "../../src/errors.js";
import type { RemoteCallOutcome } from "../../src/sessions/ports.js";
import type { Driver } from "../../src/sessions/session.js";
import type { StartChargingInput } from "../../src/sessions/session.service.js";
import {
  CONTRACT,
  chargeDetailRecord,
  collect,
  driver,
  EVSE,
  HUBJECT_ID,
  notification,
  OTHER_CONTRACT,
  OTHER_EVSE,
  openWorld,
  outcome,
  type World,
} from "./support.js";

let world: World;
beforeEach(async () => {
  world = await openWorld();
});
afterEach(() => world.close());

/** For the tests in which the mutation must answer before Hubject does (Hubject's answer is held). */
async function answeringFast() {
  await world.close();
  world = await openWorld({ mutationWaitMs: 20 });
}

const alice = driver();
const bob = driver("bob", [OTHER_CONTRACT]);

const start = (input: Partial<StartChargingInput> = {}, who: Driver = alice) =>
  world.service.startCharging(who, { evseId: EVSE, ...input });
const stop = (sessionId: string, idempotencyKey?: string, who: Driver = alice) =>
  world.service.stopCharging(who, { sessionId, ...(idempotencyKey ? { idempotencyKey } : {}) });
const stored = async (id: string | undefined) => world.store.get(id!);

/** A session of Alice's that Hubject accepted and the charger reported started. */
async function chargingSession() {
  world.hubject.answerStart(outcome.accepted(HUBJECT_ID));
  const { session } = await start();
  await world.service.drain(); // settled, however short mutationWaitMs is
  await world.service.receive(notification("Start").delivery);
  const charging = (await stored(session?.id))!;
  expect(charging.status).toBe("CHARGING");
  return charging;
}

async function expectClientError(call: Promise<unknown>, code: string, field?: string) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphQLError);
  expect((error as GraphQLError).extensions).toMatchObject({ code, ...(field ? { field } : {}) });
}

describe("startCharging: refused before anything is stored or sent", () => {
  it.each([
    ["an EvseID that breaks the OICP format", alice, { evseId: "DE-ABC-1234" }, "BAD_USER_INPUT", "evseId"],
    ["an EvcoID that breaks the OICP format", alice, { evcoId: "not-a-contract" }, "BAD_USER_INPUT", "evcoId"],
    ["a contract that is not the driver's", alice, { evcoId: OTHER_CONTRACT }, "FORBIDDEN", undefined],
    ["a driver without any contract", driver("carol", []), {}, "FORBIDDEN", undefined],
    ["several contracts and none named", driver("dave", [CONTRACT, OTHER_CONTRACT]), {}, "BAD_USER_INPUT", "evcoId"],
    ["a PartnerProductID over 50 characters", alice, { partnerProductId: "P".repeat(51) }, "BAD_USER_INPUT", "partnerProductId"],
    ["an empty idempotency key", alice, { idempotencyKey: "" }, "BAD_USER_INPUT", "idempotencyKey"],
    ["an idempotency key over 200 characters", alice, { idempotencyKey: "k".repeat(201) }, "BAD_USER_INPUT", "idempotencyKey"],
  ])("%s", async (_case, who, input, code, field) => {
    await expectClientError(start(input, who), code, field);

    expect(world.hubject.starts).toEqual([]);
    expect(world.limits.remoteStarts).toBe(0);
    expect((await world.store.listForDriver({ driverId: who.id, first: 10 })).sessions).toEqual([]);
  });
});

describe("startCharging: the request Hubject gets", () => {
  it("charges the driver's only contract, with the session id as EMPPartnerSessionID", async () => {
    const { session } = await start({ evseId: `  ${EVSE} `, partnerProductId: "  AC3 " });

    expect(world.hubject.starts).toEqual([{ evseId: EVSE, evcoId: CONTRACT, empPartnerSessionId: session!.id, partnerProductId: "AC3" }]);
    expect(session).toMatchObject({ driverId: "alice", evseId: EVSE, evcoId: CONTRACT, partnerProductId: "AC3", origin: "APP" });
  });

  it("charges the contract named, in the driver's own spelling, and sends a blank product as none", async () => {
    const dave = driver("dave", [CONTRACT, OTHER_CONTRACT]);

    await start({ evcoId: "de-dcb-C87654321-y", partnerProductId: "   " }, dave);

    expect(world.hubject.starts[0]).toMatchObject({ evcoId: OTHER_CONTRACT, partnerProductId: null });
  });
});

describe("startCharging: Hubject's outcome on the session and in the payload", () => {
  it("accepted: ACCEPTED with Hubject's SessionID, no error, published", async () => {
    world.hubject.answerStart(outcome.accepted(HUBJECT_ID, "CPO-778812"));
    const updates = collect(world.events, { driverId: "alice" });

    const result = await start();

    expect(result.error).toBeNull();
    expect(result.session).toMatchObject({ status: "ACCEPTED", hubjectSessionId: HUBJECT_ID, cpoPartnerSessionId: "CPO-778812" });
    expect(await stored(result.session?.id)).toEqual(result.session);
    expect((await updates.until((s) => s.status === "ACCEPTED")).version).toBe(2);
    expect(updates.items.map((s) => s.status)).toEqual(["REQUESTED", "ACCEPTED"]);
    expect(world.recorded.remoteStart).toEqual(["ACCEPTED"]);
    await updates.stop();
  });

  it.each<[string, string, string, string | null, boolean, RemoteCallOutcome]>([
    ["refused 603", "REJECTED", "EVSE_UNKNOWN", "603", false, outcome.refused("603")],
    ["refused 602", "REJECTED", "EVSE_IN_USE", "602", false, outcome.refused("602")],
    ["refused 501", "REJECTED", "EVSE_OFFLINE", "501", true, outcome.refused("501")],
    ["refused 210", "REJECTED", "NO_VALID_CONTRACT", "210", false, outcome.refused("210")],
    ["refused 017", "REJECTED", "CONFIGURATION_ERROR", "017", false, outcome.refused("017")],
    ["refused with a code of no meaning here", "REJECTED", "UNKNOWN_ERROR", "999", false, outcome.refused("999")],
    ["refused 310 (the CPO did not answer)", "OUTCOME_UNKNOWN", "CHARGER_NOT_RESPONDING", "310", false, outcome.refused("310")],
    ["unknown: timeout", "OUTCOME_UNKNOWN", "CHARGER_NOT_RESPONDING", null, false, outcome.unknown("timeout")],
    ["unknown: connection lost", "OUTCOME_UNKNOWN", "CHARGER_NOT_RESPONDING", null, false, outcome.unknown("connection-lost")],
    ["unknown: HTTP 5xx", "OUTCOME_UNKNOWN", "CHARGER_NOT_RESPONDING", null, false, outcome.unknown("upstream-error")],
    ["unknown: unreadable 200", "OUTCOME_UNKNOWN", "CHARGER_NOT_RESPONDING", null, false, outcome.unknown("bad-response")],
    ["failed: unreachable", "REJECTED", "HUBJECT_UNAVAILABLE", null, true, outcome.failed("unreachable", "320")],
    ["failed: rate-limited (429)", "REJECTED", "HUBJECT_UNAVAILABLE", null, true, outcome.failed("rate-limited", "320", 429)],
    ["failed: circuit open", "REJECTED", "HUBJECT_UNAVAILABLE", null, true, outcome.failed("circuit-open", "320")],
    ["failed: unauthorized (401)", "REJECTED", "CONFIGURATION_ERROR", "017", false, outcome.failed("unauthorized", "017", 401)],
    ["failed: forbidden (403)", "REJECTED", "CONFIGURATION_ERROR", "017", false, outcome.failed("forbidden", "017", 403)],
    ["failed: invalid request (400)", "REJECTED", "CONFIGURATION_ERROR", "022", false, outcome.failed("invalid-request", "022", 400)],
  ])("%s → %s, %s", async (_case, status, code, oicpStatusCode, retryable, answer) => {
    world.hubject.answerStart(answer);

    const result = await start();

    expect(result.session?.status).toBe(status);
    expect(result.error).toMatchObject({ code, oicpStatusCode, retryable });
    expect(await stored(result.session?.id)).toEqual(result.session);
    expect(world.hubject.starts).toHaveLength(1);
    expect(world.recorded.remoteStart).toEqual([code]);
  });

  it("310 with a SessionID keeps it, and the charger starting after all settles the session", async () => {
    const late = "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b"; // example 04
    world.hubject.answerStart(outcome.refused("310", late));

    const { session } = await start();
    await world.service.receive(notification("Start", { SessionID: late, EMPPartnerSessionID: null }).delivery);

    expect(session).toMatchObject({ status: "OUTCOME_UNKNOWN", hubjectSessionId: late });
    expect(await stored(session?.id)).toMatchObject({ status: "CHARGING", hubjectSessionId: late });
  });
});

describe("startCharging: idempotency keys", () => {
  it("a repeated key returns the first result and reaches Hubject once", async () => {
    const first = await start({ idempotencyKey: "k-1" });
    const again = await start({ idempotencyKey: "k-1" });

    expect(again).toEqual(first);
    expect(world.hubject.starts).toHaveLength(1);
  });

  it("a repeated key returns the first refusal too", async () => {
    world.hubject.answerStart(outcome.refused("603"));

    const first = await start({ idempotencyKey: "k-1" });
    const again = await start({ idempotencyKey: "k-1" });

    expect(again).toEqual(first);
    expect(again.error?.code).toBe("EVSE_UNKNOWN");
    expect(world.hubject.starts).toHaveLength(1);
  });

  it("five calls with one key at the same time make one session and one call", async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => start({ idempotencyKey: "k-storm" })));

    expect(new Set(results.map((r) => r.session?.id)).size).toBe(1);
    expect(results.every((r) => r.session?.status === "ACCEPTED" && r.error === null)).toBe(true);
    expect(world.hubject.starts).toHaveLength(1);
  });

  it("keys belong to one driver: the same key of another driver is another start", async () => {
    const mine = await start({ idempotencyKey: "k-1" });
    const theirs = await start({ idempotencyKey: "k-1" }, bob);

    expect(theirs.session?.id).not.toBe(mine.session?.id);
    expect(theirs.session?.driverId).toBe("bob");
    expect(world.hubject.starts).toHaveLength(2);
  });

  it("without a key, a start after the first one settled is a new session", async () => {
    const first = await start();
    const second = await start();

    expect(second.session?.id).not.toBe(first.session?.id);
    expect(world.hubject.starts).toHaveLength(2);
  });
});

describe("idempotency keys: a repeat answers what the first call answered", () => {
  it("a start Hubject refused as rate limited: the repeat says HUBJECT_UNAVAILABLE too, not what the session alone suggests", async () => {
    world.hubject.answerStart(outcome.failed("rate-limited", "320", 429));
    const first = await start({ idempotencyKey: "k-429" });
    expect(first.error).toMatchObject({ code: "HUBJECT_UNAVAILABLE", retryable: true });

    const again = await start({ idempotencyKey: "k-429" });
    expect(again).toEqual(first);
    expect(world.hubject.starts).toHaveLength(1);
  });

  it("a stop that did not go through: the repeat gives the same error, and Hubject is asked once", async () => {
    const charging = await chargingSession();
    world.hubject.answerStop(outcome.failed("unreachable", "320"));
    const first = await stop(charging.id, "stop-1");
    expect(first.error).toMatchObject({ code: "HUBJECT_UNAVAILABLE" });
    expect(first.session?.status).toBe("CHARGING");

    const again = await stop(charging.id, "stop-1");
    expect(again.error).toEqual(first.error);
    expect(again.session?.status).toBe("CHARGING");
    expect(world.hubject.stops).toHaveLength(1);
  });

  it("a start refused by the EMP-wide limit leaves the key free: the app's retry with the same key starts", async () => {
    world.limits.refuseRemoteStart = rateLimited("Many drivers are starting right now.", 5);
    await expectClientError(start({ idempotencyKey: "k-busy" }), "RATE_LIMITED");
    world.limits.refuseRemoteStart = null;

    const retried = await start({ idempotencyKey: "k-busy" });
    expect(retried).toMatchObject({ session: { status: "ACCEPTED" }, error: null });
    expect(world.hubject.starts).toHaveLength(1);
  });

  it("a stop answered SESSION_STARTING leaves the key free: the same key stops once the session can", async () => {
    await answeringFast();
    const answer = world.hubject.holdStart();
    const { session } = await start();
    const early = await stop(session!.id, "stop-early");
    expect(early.error?.code).toBe("SESSION_STARTING");
    expect(world.hubject.stops).toHaveLength(0);

    answer.resolve(outcome.accepted(HUBJECT_ID));
    await world.service.drain();
    const retried = await stop(session!.id, "stop-early");
    await world.service.drain();
    expect(retried.error).toBeNull();
    expect(world.hubject.stops).toHaveLength(1);
  });

  it("a key stands for one request: the key of a start cannot stop", async () => {
    const { session } = await start({ idempotencyKey: "k-one" });
    await expectClientError(stop(session!.id, "k-one"), "BAD_USER_INPUT", "idempotencyKey");
    expect(world.hubject.stops).toHaveLength(0);
  });
});

describe("startCharging: answering within mutationWaitMs", () => {
  beforeEach(answeringFast);

  it("answers REQUESTED while Hubject is slow; the outcome lands later on the subscription", async () => {
    const answer = world.hubject.holdStart();
    const updates = collect(world.events, { driverId: "alice" });

    const result = await start();

    expect(result).toMatchObject({ session: { status: "REQUESTED" }, error: null });
    expect(world.service.isSettling(result.session!.id)).toBe(true);
    answer.resolve(outcome.accepted(HUBJECT_ID));
    const settled = await updates.until((s) => s.status === "ACCEPTED");
    await world.service.drain();

    expect(settled).toMatchObject({ id: result.session!.id, hubjectSessionId: HUBJECT_ID });
    expect(world.service.isSettling(result.session!.id)).toBe(false);
    expect(await stored(result.session?.id)).toEqual(settled);
    await updates.stop();
  });

  it("a second start at the same EVSE while the first is in flight joins it: one call", async () => {
    const answer = world.hubject.holdStart();

    const first = await start();
    const second = await start();
    const keyed = await start({ idempotencyKey: "k-join" });
    answer.resolve(outcome.accepted(HUBJECT_ID));
    await world.service.drain();

    expect(second.session?.id).toBe(first.session?.id);
    expect(keyed.session?.id).toBe(first.session?.id);
    expect(world.hubject.starts).toHaveLength(1);
    expect(world.limits.remoteStarts).toBe(1);
    // The key of the joined call now names the session it joined.
    expect((await start({ idempotencyKey: "k-join" })).session).toMatchObject({ id: first.session!.id, status: "ACCEPTED" });
    expect(world.hubject.starts).toHaveLength(1);
  });

  it("drain() resolves once every upstream call has settled", async () => {
    const here = world.hubject.holdStart();
    const there = world.hubject.holdStart();
    const a = await start();
    const b = await start({ evseId: OTHER_EVSE });
    let drained = false;
    const draining = world.service.drain().then(() => {
      drained = true;
    });

    const updates = collect(world.events, { sessionId: a.session!.id });
    here.resolve(outcome.accepted());
    await updates.until((s) => s.status === "ACCEPTED");
    expect(drained).toBe(false); // the other call is still held
    there.resolve(outcome.refused("602"));
    await draining;

    expect(world.service.isSettling(a.session!.id) || world.service.isSettling(b.session!.id)).toBe(false);
    expect((await stored(b.session?.id))?.status).toBe("REJECTED");
    await updates.stop();
  });
});

describe("stopCharging", () => {
  it("accepted: STOP_REQUESTED, with Hubject's ids in the request", async () => {
    const session = await chargingSession();

    const result = await stop(session.id);

    expect(result).toMatchObject({ session: { status: "STOP_REQUESTED" }, error: null });
    expect(world.hubject.stops).toEqual([
      { hubjectSessionId: HUBJECT_ID, evseId: EVSE, empPartnerSessionId: session.id, cpoPartnerSessionId: "CPO-778812" },
    ]);
    expect(await stored(session.id)).toEqual(result.session);
  });

  it.each<[string, string, string | null, RemoteCallOutcome]>([
    ["400 (Hubject no longer knows the session, and has no CDR for it): ended", "CHARGING_ENDED", null, outcome.refused("400")],
    ["refused: back to CHARGING", "CHARGING", "OPERATOR_UNAVAILABLE", outcome.refused("021")],
    ["310: the charger may still stop", "STOP_REQUESTED", "CHARGER_NOT_RESPONDING", outcome.refused("310")],
    ["unknown: the charger may still stop", "STOP_REQUESTED", "CHARGER_NOT_RESPONDING", outcome.unknown("timeout")],
    ["failed unreachable: back to CHARGING", "CHARGING", "HUBJECT_UNAVAILABLE", outcome.failed("unreachable", "320")],
    ["failed unauthorized: back to CHARGING", "CHARGING", "CONFIGURATION_ERROR", outcome.failed("unauthorized", "017", 401)],
  ])("%s → %s, %s", async (_case, status, code, answer) => {
    const session = await chargingSession();
    world.hubject.answerStop(answer);

    const result = await stop(session.id);

    expect(result.session?.status).toBe(status);
    expect(result.error?.code ?? null).toBe(code);
    expect(await stored(session.id)).toEqual(result.session);
    expect(world.hubject.stops).toHaveLength(1);
  });

  it("a refused stop of a session that never charged goes back to ACCEPTED", async () => {
    world.hubject.answerStart(outcome.accepted(HUBJECT_ID)).answerStop(outcome.refused("021"));
    const { session } = await start();

    expect((await stop(session!.id)).session).toMatchObject({ status: "ACCEPTED", stopRequestedAt: null });
  });

  it("a session Hubject has not named yet is SESSION_STARTING, and nothing is sent", async () => {
    world.hubject.answerStart(outcome.accepted(null));
    const { session } = await start();

    const result = await stop(session!.id);

    expect(result.error).toMatchObject({ code: "SESSION_STARTING", retryable: true });
    expect(result.session?.status).toBe("ACCEPTED");
    expect(world.hubject.stops).toEqual([]);
  });

  it("a session still being started is SESSION_STARTING", async () => {
    await answeringFast();
    const answer = world.hubject.holdStart();
    const { session } = await start();

    expect((await stop(session!.id)).error?.code).toBe("SESSION_STARTING");
    answer.resolve(outcome.accepted());
    expect(world.hubject.stops).toEqual([]);
  });

  it("a finished session is SESSION_NOT_ACTIVE, and nothing is sent", async () => {
    world.hubject.answerStart(outcome.refused("603"));
    const rejected = (await start()).session!;
    const completed = await chargingSession();
    await world.service.receive(chargeDetailRecord().delivery);

    expect((await stop(rejected.id)).error).toMatchObject({ code: "SESSION_NOT_ACTIVE", retryable: false });
    expect(await stop(completed.id)).toMatchObject({ session: { status: "COMPLETED" }, error: { code: "SESSION_NOT_ACTIVE" } });
    expect(world.hubject.stops).toEqual([]);
  });

  it("a session already stopping or ended is returned as it is, without a second call", async () => {
    const session = await chargingSession();
    await stop(session.id);

    expect(await stop(session.id)).toMatchObject({ session: { status: "STOP_REQUESTED" }, error: null });
    await world.service.receive(notification("End").delivery);
    expect(await stop(session.id)).toMatchObject({ session: { status: "CHARGING_ENDED" }, error: null });
    expect(world.hubject.stops).toHaveLength(1);
  });

  it("a second stop while the first is in flight joins it", async () => {
    await answeringFast();
    const session = await chargingSession();
    const answer = world.hubject.holdStop();

    const first = await stop(session.id);
    const second = await stop(session.id);
    answer.resolve(outcome.accepted(HUBJECT_ID));
    await world.service.drain();

    expect([first.session?.status, second.session?.status]).toEqual(["STOP_REQUESTED", "STOP_REQUESTED"]);
    expect(world.hubject.stops).toHaveLength(1);
  });

  it("a repeated key returns the first result and reaches Hubject once", async () => {
    const session = await chargingSession();

    const first = await stop(session.id, "s-1");
    const again = await stop(session.id, "s-1");

    expect(again).toEqual(first);
    expect(world.hubject.stops).toHaveLength(1);
  });

  it("another driver's session is FORBIDDEN, an unknown one BAD_USER_INPUT", async () => {
    const session = await chargingSession();

    await expectClientError(stop(session.id, undefined, bob), "FORBIDDEN");
    await expectClientError(stop("no-such-session"), "BAD_USER_INPUT", "sessionId");
    expect(world.hubject.stops).toEqual([]);
  });
});

describe("rate limits", () => {
  it("every start and stop counts for the driver; only starts that reach Hubject count for the EMP", async () => {
    const { session } = await start({ idempotencyKey: "k-1" });
    await start({ idempotencyKey: "k-1" });
    await expectClientError(start({ evseId: "nope" }), "BAD_USER_INPUT");
    await stop(session!.id);

    expect(world.limits.driverMutations).toEqual(["alice", "alice", "alice", "alice"]);
    expect(world.limits.remoteStarts).toBe(1);
  });

  it("a driver over their limit is refused before anything else", async () => {
    world.limits.refuseDriverMutation = rateLimited("Too many requests", 30);

    await expect(start({ evseId: "nope" })).rejects.toMatchObject({ extensions: { code: "RATE_LIMITED", retryAfterSeconds: 30 } });
    expect(world.limits.remoteStarts).toBe(0);
  });

  it("the EMP over its budget: refused, nothing sent, no session left behind", async () => {
    world.limits.refuseRemoteStart = rateLimited("Too many remote starts", 12);

    await expect(start()).rejects.toMatchObject({ extensions: { code: "RATE_LIMITED" } });
    expect(world.hubject.starts).toEqual([]);
    expect((await world.store.listForDriver({ driverId: "alice", first: 10 })).sessions).toEqual([]);
  });
});
