// Fault injection against the whole gateway: each test switches on one fault in the Hubject
// simulator and asserts the final state in the store and on a subscribed client, and exactly
// how many upstream calls were made. Remote start/stop must never be sent twice.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Operation } from "../../src/simulator/hubject.simulator.js";
import {
  deliveredBeforeMarker,
  driver,
  SESSION_UPDATED,
  START,
  STOP,
  startTestGateway,
  subscribed,
  type TestDriver,
  type TestGateway,
} from "../support/gateway.js";
import { eventually } from "../support/wait.js";

const ALICE_EVCO = "DE-GQL-C00000001-7";
const EVSE = "DE*SIM*E0001*1";

let gw: TestGateway;
let alice: TestDriver;

afterEach(async () => {
  vi.useRealTimers();
  await gw?.close();
});

/**
 * The gateway's clock (Date: the breaker, staleness) under the test's control; it keeps moving
 * with real time, and jumps ahead with vi.advanceTimersByTime. Sockets and timers stay real.
 */
const controlledClock = () => vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });

/** A gateway whose mutations wait 300 ms and whose remote calls time out after 1 s (test-only). */
async function gateway(env: Record<string, string> = {}, pace = {}) {
  gw = await startTestGateway({ env: { MUTATION_WAIT_MS: "300", ...env }, overrides: { shortRemoteTimeoutMs: 1_000 }, pace });
  alice = await driver("alice", [ALICE_EVCO]);
  return gw;
}

const sim = () => gw.gateway.simulator!;
const calls = (operation: Operation) => sim().callsTo(operation).length;

async function watchAndStart(input: Record<string, unknown> = { evseId: EVSE }) {
  const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
  const { body } = await gw.graphql(START, { input }, alice.token);
  expect(body.errors).toBeUndefined();
  return { watch, payload: body.data.startCharging as { session: any; error: any } };
}

async function stored(id: string) {
  return (await gw.gateway.store.get(id))!;
}

const statusesOf = (events: any[], id: string) =>
  events
    .filter((e) => e.id === id)
    .map((e) => e.status)
    .filter((s, i, all) => s !== all[i - 1]);

async function stopAndComplete(watch: ReturnType<TestGateway["subscribe"]>, id: string) {
  const { body } = await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
  expect(body.data.stopCharging.error).toBeNull();
  return watch.waitFor((s) => s.id === id && s.status === "COMPLETED");
}

describe("a slow CPO", () => {
  it("answers after the mutation's wait: the mutation returns REQUESTED, the outcome arrives on the subscription", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "delay", ms: 700 });
    const { watch, payload } = await watchAndStart();
    expect(payload).toMatchObject({ session: { status: "REQUESTED" }, error: null });
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "CHARGING");
    expect(statusesOf(watch.events, payload.session.id)).toEqual(["REQUESTED", "ACCEPTED", "CHARGING"]);
    expect(await stored(payload.session.id)).toMatchObject({ status: "CHARGING", hubjectSessionId: expect.any(String) });
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("past the timeout: OUTCOME_UNKNOWN, never re-sent, and the session settles when the charger reports", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "delay", ms: 1_500 });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    await watch.waitFor((s) => s.id === id && s.status === "OUTCOME_UNKNOWN");
    const charging = await watch.waitFor((s) => s.id === id && s.status === "CHARGING", 5_000);
    expect(charging.hubjectSessionId).toBe(sim().hubjectSessionIdFor(id));
    await stopAndComplete(watch, id);
    expect(statusesOf(watch.events, id)).toEqual([
      "REQUESTED",
      "OUTCOME_UNKNOWN",
      "CHARGING",
      "STOP_REQUESTED",
      "CHARGING_ENDED",
      "COMPLETED",
    ]);
    expect((await stored(id)).status).toBe("COMPLETED");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
    expect(calls("AuthorizeRemoteStop")).toBe(1);
  });
});

describe("a connection reset after Hubject read the request", () => {
  it("processed by Hubject: OUTCOME_UNKNOWN, then CHARGING when the Start arrives", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "reset", forwarded: true });
    const { watch, payload } = await watchAndStart();
    expect(payload.session.status).toBe("OUTCOME_UNKNOWN");
    expect(payload.error).toMatchObject({ code: "CHARGER_NOT_RESPONDING", retryable: false, oicpStatusCode: null });
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "CHARGING");
    expect((await stored(payload.session.id)).status).toBe("CHARGING");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("not processed: nothing names the session, so after the give-up time the start is marked not started", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "reset", forwarded: false });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    expect(payload.session.status).toBe("OUTCOME_UNKNOWN");

    // Before the give-up time the reconciler waits for evidence; an EVSE status is none (docs/oicp.md#lost-answer).
    const early = await gw.gateway.reconciler.run(new Date());
    expect(early).toMatchObject({ statusCalls: 0, settled: 0 });
    expect((await stored(id)).status).toBe("OUTCOME_UNKNOWN");

    const later = await gw.gateway.reconciler.run(new Date(Date.now() + 11 * 60_000));
    expect(later).toMatchObject({ statusCalls: 1, settled: 1 });
    const rejected = await watch.waitFor((s) => s.id === id && s.status === "REJECTED");
    expect(rejected.figuresSource).toBe("INFERRED");
    expect((await stored(id)).status).toBe("REJECTED");
    expect((await stored(id)).errorInfo).toBe("Not started: the charging point stayed free after the unconfirmed start.");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
    expect(calls("PullEvseStatusById")).toBe(1);
  });
});

describe("HTTP errors from Hubject", () => {
  it("a 503 on remote start is an unknown outcome, not a refusal, and is not retried", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "http", status: 503, body: "Service Unavailable" });
    const { watch, payload } = await watchAndStart();
    expect(payload.session.status).toBe("OUTCOME_UNKNOWN");
    expect(payload.error.code).toBe("CHARGER_NOT_RESPONDING");
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "OUTCOME_UNKNOWN");
    // The remote call has settled (the mutation answered with its outcome) and Hubject has
    // nothing in flight: a retry would have reached the simulator, a late message the store.
    await sim().idle();
    expect((await stored(payload.session.id)).status).toBe("OUTCOME_UNKNOWN");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("a 429 on remote start was not executed: a retryable HUBJECT_UNAVAILABLE, not retried by the gateway", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "http", status: 429, retryAfterSeconds: 1 });
    const { watch, payload } = await watchAndStart();
    expect(payload.error).toMatchObject({ code: "HUBJECT_UNAVAILABLE", retryable: true });
    expect(payload.session.status).toBe("REJECTED");
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "REJECTED");
    expect((await stored(payload.session.id)).status).toBe("REJECTED");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("5xx and 429 on EVSE status reads are retried with backoff until they succeed", async () => {
    // Every read asks Hubject (no shared status cache), so the second read meets the 429.
    await gateway({ EVSE_STATUS_CACHE_MS: "0" });
    sim().failNext("PullEvseStatusById", { kind: "http", status: 503 }, 2);
    const first = await gw.graphql(`{ evse(id: "${EVSE}") { status } }`, {}, alice.token);
    expect(first.body.data.evse.status).toBe("AVAILABLE");
    expect(calls("PullEvseStatusById")).toBe(3);

    sim().failNext("PullEvseStatusById", { kind: "http", status: 429, retryAfterSeconds: 1 });
    const second = await gw.graphql(`{ evse(id: "${EVSE}") { status } }`, {}, alice.token);
    expect(second.body.data.evse.status).toBe("AVAILABLE");
    expect(calls("PullEvseStatusById")).toBe(5);
  });

  it("the circuit breaker fails fast with HUBJECT_UNAVAILABLE while HBS is down, and closes by itself", async () => {
    await gateway({ HUBJECT_RETRY_ATTEMPTS: "0", HUBJECT_BREAKER_FAILURES: "2", HUBJECT_BREAKER_HALF_OPEN_MS: "500" });
    controlledClock();
    sim().failNext("PullEvseStatusById", { kind: "http", status: 502 }, 2);
    for (let i = 0; i < 2; i++) {
      const { body } = await gw.graphql(`{ evse(id: "${EVSE}") { status } }`, {}, alice.token);
      expect(body.errors[0].extensions.code).toBe("HUBJECT_UNAVAILABLE");
    }
    expect(calls("PullEvseStatusById")).toBe(2);
    expect(gw.gateway.hubject.circuitState()).toBe("open");

    // Open: nothing reaches Hubject, neither reads nor remote starts.
    const read = await gw.graphql(`{ evse(id: "${EVSE}") { status } }`, {}, alice.token);
    expect(read.body.errors[0]).toMatchObject({ extensions: { code: "HUBJECT_UNAVAILABLE", retryable: true } });
    const { watch, payload } = await watchAndStart();
    expect(payload.error).toMatchObject({ code: "HUBJECT_UNAVAILABLE", retryable: true });
    expect(payload.session.status).toBe("REJECTED");
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "REJECTED");
    expect((await stored(payload.session.id)).status).toBe("REJECTED");
    expect(calls("PullEvseStatusById")).toBe(2);
    expect(calls("AuthorizeRemoteStart")).toBe(0);

    // After the half-open delay one trial call goes through and closes it.
    vi.advanceTimersByTime(600);
    const again = await gw.graphql(`{ evse(id: "${EVSE}") { status } }`, {}, alice.token);
    expect(again.body.data.evse.status).toBe("AVAILABLE");
    expect(gw.gateway.hubject.circuitState()).toBe("closed");
    const retried = await gw.graphql(START, { input: { evseId: EVSE } }, alice.token);
    expect(retried.body.data.startCharging.session.status).toBe("ACCEPTED");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });
});

describe("answers that leave the outcome unknown", () => {
  it("310: OUTCOME_UNKNOWN with the code, then CHARGING when the charger starts after all", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "status-code", code: "310", forwarded: true });
    const { watch, payload } = await watchAndStart();
    expect(payload.session).toMatchObject({ status: "OUTCOME_UNKNOWN", lastStatusCode: { code: "310" } });
    expect(payload.error).toMatchObject({ code: "CHARGER_NOT_RESPONDING", oicpStatusCode: "310", retryable: false });
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "CHARGING");
    expect((await stored(payload.session.id)).status).toBe("CHARGING");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("malformed JSON: OUTCOME_UNKNOWN, never read as a success, then CHARGING", async () => {
    await gateway();
    sim().failNext("AuthorizeRemoteStart", { kind: "malformed-json", forwarded: true });
    const { watch, payload } = await watchAndStart();
    expect(payload.session).toMatchObject({ status: "OUTCOME_UNKNOWN", hubjectSessionId: null });
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "CHARGING");
    expect((await stored(payload.session.id)).status).toBe("CHARGING");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });
});

describe("early, duplicate and reordered messages", () => {
  it("a Start before the answer, without our id: matched by EVSE and contract, and the answer does not move it back", async () => {
    await gateway();
    sim().setCpoFaults({ notificationsBeforeAnswer: true, copyEmpPartnerSessionId: false });
    const { watch, payload } = await watchAndStart();
    expect(payload.session.status).toBe("CHARGING");
    expect(payload.session.hubjectSessionId).toBe(sim().hubjectSessionIdFor(payload.session.id));
    expect(statusesOf(watch.events, payload.session.id)).toEqual(["REQUESTED", "CHARGING"]);
    expect((await stored(payload.session.id)).status).toBe("CHARGING");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("duplicates are acknowledged and change nothing", async () => {
    await gateway({}, { progressIntervalMs: 60 });
    sim().setCpoFaults({ duplicateDeliveries: true });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    await watch.waitFor((s) => s.id === id && s.consumedEnergyKwh > 0);
    const completed = await stopAndComplete(watch, id);
    await sim().idle(); // the second copy of the CDR may still be on its way

    const deliveries = sim().deliveries.filter((d) => d.sessionId === payload.session.hubjectSessionId);
    expect(deliveries.length % 2).toBe(0);
    expect(deliveries.every((d) => (d.ack as { Result?: boolean } | null)?.Result === true)).toBe(true);
    // Every change was pushed once: no two events describe the same state.
    const seen = watch.events.filter((e) => e.id === id).map((e) => `${e.status}|${e.consumedEnergyKwh}|${e.chargingEndedAt}`);
    expect(new Set(seen).size).toBe(seen.length);
    expect((await stored(id)).consumedEnergyKwh).toBe(String(completed.consumedEnergyKwh));
    expect(calls("AuthorizeRemoteStop")).toBe(1);
  });

  it("reordered: an older Progress is dropped, End after the CDR changes nothing, COMPLETED is final", async () => {
    await gateway({}, { progressIntervalMs: 50 });
    sim().setCpoFaults({ reorderDeliveries: true });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    await watch.waitFor((s) => s.id === id && s.consumedEnergyKwh > 0);
    const progressSent = () =>
      sim().deliveries.filter((d) => d.type === "Progress" && d.sessionId === payload.session.hubjectSessionId).length;
    await eventually(() => progressSent() >= 4, "several Progress messages, delivered newer-first in pairs");
    const completed = await stopAndComplete(watch, id);
    await sim().idle(); // the End (and any held Progress) went out after the CDR
    await deliveredBeforeMarker(gw, watch, ALICE_EVCO); // and whatever the gateway pushed for them has arrived

    const energies = watch.events.filter((e) => e.id === id && e.consumedEnergyKwh !== null).map((e) => e.consumedEnergyKwh);
    expect(energies).toEqual([...energies].sort((a, b) => a - b));
    const final = await stored(id);
    expect(final.status).toBe("COMPLETED");
    expect(final.consumedEnergyKwh).toBe(final.chargeDetailRecord!.consumedEnergyKwh);
    expect(watch.events.filter((e) => e.id === id).at(-1)).toEqual(completed);
    expect([calls("AuthorizeRemoteStart"), calls("AuthorizeRemoteStop")]).toEqual([1, 1]);
  });
});

describe("missing messages", () => {
  it("no notifications at all: the CDR alone completes the session", async () => {
    await gateway();
    sim().setCpoFaults({ suppressNotifications: true });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    expect(payload.session.status).toBe("ACCEPTED");
    await stopAndComplete(watch, id);
    expect(statusesOf(watch.events, id)).toEqual(["REQUESTED", "ACCEPTED", "STOP_REQUESTED", "COMPLETED"]);
    expect((await stored(id)).chargeDetailRecord).not.toBeNull();
    expect([calls("AuthorizeRemoteStart"), calls("AuthorizeRemoteStop")]).toEqual([1, 1]);
  });

  it("a CDR never pushed is fetched by the back-fill (CDRForwarded:false), once", async () => {
    await gateway();
    sim().setCpoFaults({ suppressCdrDelivery: true });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    await watch.waitFor((s) => s.id === id && s.status === "CHARGING");
    await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
    await watch.waitFor((s) => s.id === id && s.status === "CHARGING_ENDED");
    await sim().idle();
    expect((await stored(id)).status).toBe("CHARGING_ENDED");

    const first = await gw.gateway.cdrBackfill.run();
    expect(first).toMatchObject({ fetched: 1, stored: 1, rejected: 0 });
    const completed = await watch.waitFor((s) => s.id === id && s.status === "COMPLETED");
    expect(completed.chargeDetailRecord.consumedEnergyKwh).toBeGreaterThan(0);
    expect(calls("GetChargeDetailRecords")).toBe(1);

    // Hubject does not track downloads: the same CDR comes again and is deduplicated.
    const settled = await stored(id);
    const second = await gw.gateway.cdrBackfill.run();
    expect(second).toMatchObject({ fetched: 1, stored: 0 });
    expect(await stored(id)).toEqual(settled);
    expect(calls("GetChargeDetailRecords")).toBe(2);
  });
});

describe("a crash between storing a message and applying it", () => {
  it("the reconciler's sweep applies the stored message; nothing is lost", async () => {
    await gateway({}, { startDelayMs: 60_000 });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    expect(payload.session.status).toBe("ACCEPTED");
    const { oicpInboundReader } = await import("../../src/oicp/inbound/parse.js");
    const receivedAt = new Date(Date.now() - 10_000);
    const text = JSON.stringify({
      Type: "Start",
      SessionID: payload.session.hubjectSessionId,
      EvseID: EVSE,
      Identification: { RemoteIdentification: { EvcoID: ALICE_EVCO } },
      ChargingStart: receivedAt.toISOString(),
    });
    const read = oicpInboundReader.read("NOTIFICATION", text, receivedAt);
    if (!read.ok) throw new Error(read.problem);
    const { ids, message } = read.value;
    // Stored (and so acknowledged) by a process that died before handling it: the row is as receive() first writes it.
    const recorded = await gw.gateway.store.recordInbound({
      kind: "NOTIFICATION",
      source: "push",
      text,
      operatorId: null,
      receivedAt,
      type: message.type,
      ...ids,
      dedupeKey: message.dedupeKey,
      contentHash: message.contentHash,
      state: "received",
      problem: null,
      anomalies: message.anomalies,
      duplicateOf: null,
    });
    expect("seq" in recorded).toBe(true);
    expect((await stored(id)).status).toBe("ACCEPTED");

    expect((await gw.gateway.reconciler.run()).messagesApplied).toBe(1);
    await watch.waitFor((s) => s.id === id && s.status === "CHARGING");
    expect((await gw.gateway.reconciler.run()).messagesApplied).toBe(0);
  });
});

describe("idempotency", () => {
  it("the same key sent five times at once makes one upstream call and returns one session", async () => {
    await gateway();
    const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
    sim().failNext("AuthorizeRemoteStart", { kind: "delay", ms: 500 });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => gw.graphql(START, { input: { evseId: EVSE, idempotencyKey: "tap-1" } }, alice.token)),
    );
    const ids = new Set(results.map((r) => r.body.data.startCharging.session.id));
    expect(ids.size).toBe(1);
    await watch.waitFor((s) => s.status === "ACCEPTED");
    expect(new Set(watch.events.map((e) => e.id))).toEqual(ids);
    // Every mutation has answered and the one remote start has settled (ACCEPTED): a second one
    // would have been sent before its mutation answered.
    expect(calls("AuthorizeRemoteStart")).toBe(1);
    // A later repeat returns the first call's result, settled.
    const repeat = await gw.graphql(START, { input: { evseId: EVSE, idempotencyKey: "tap-1" } }, alice.token);
    expect(repeat.body.data.startCharging.session).toMatchObject({ id: [...ids][0], status: expect.stringMatching(/ACCEPTED|CHARGING/) });
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("without a key, a second start at the same EVSE while the first is in flight joins it", async () => {
    await gateway();
    const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
    sim().failNext("AuthorizeRemoteStart", { kind: "delay", ms: 500 });
    const results = await Promise.all(Array.from({ length: 3 }, () => gw.graphql(START, { input: { evseId: EVSE } }, alice.token)));
    const ids = new Set(results.map((r) => r.body.data.startCharging.session.id));
    expect(ids.size).toBe(1);
    await watch.waitFor((s) => s.status === "ACCEPTED");
    expect(new Set(watch.events.map((e) => e.id))).toEqual(ids);
    // As above: every mutation has answered, the one remote start has settled.
    expect(calls("AuthorizeRemoteStart")).toBe(1);
    expect((await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, alice.token)).body.data.chargingSessions.nodes).toHaveLength(1);
    expect((await gw.gateway.store.listForDriver({ driverId: "alice", first: 10 })).sessions).toHaveLength(1);
  });

  it("a repeated stop with the same key sends one remote stop", async () => {
    await gateway();
    const { watch, payload } = await watchAndStart();
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "CHARGING");
    const stops = await Promise.all(
      Array.from({ length: 3 }, () =>
        gw.graphql(STOP, { input: { sessionId: payload.session.id, idempotencyKey: "stop-1" } }, alice.token),
      ),
    );
    expect(stops.every((r) => r.body.data.stopCharging.error === null)).toBe(true);
    await watch.waitFor((s) => s.id === payload.session.id && s.status === "COMPLETED");
    expect(calls("AuthorizeRemoteStop")).toBe(1);
  });
});

describe("freshness", () => {
  it("a CHARGING session that hears nothing turns stale, and subscribers are told once", async () => {
    await gateway({ SESSION_STALE_AFTER_MS: "1000" }, { progressIntervalMs: 60_000 });
    const { watch, payload } = await watchAndStart();
    const id = payload.session.id;
    const charging = await watch.waitFor((s) => s.id === id && s.status === "CHARGING");
    expect(charging).toMatchObject({ stale: false, figuresSource: "NOTIFICATION" });
    expect(charging.lastEventAt).not.toBeNull();
    controlledClock();
    vi.advanceTimersByTime(1_200);
    const read = await gw.graphql(`query($id: ID!) { chargingSession(id: $id) { stale } }`, { id }, alice.token);
    expect(read.body.data.chargingSession.stale).toBe(true);

    const before = watch.events.length;
    expect((await gw.gateway.reconciler.run()).newlyStale).toBe(1);
    const announced = await watch.waitFor((s) => s.id === id && s.stale === true);
    expect(announced.status).toBe("CHARGING");
    expect((await stored(id)).status).toBe("CHARGING");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
    expect((await gw.gateway.reconciler.run()).newlyStale).toBe(0);
    // What reached the subscriber up to a marker published after both runs: one announcement.
    expect((await deliveredBeforeMarker(gw, watch, ALICE_EVCO)).length).toBe(before + 1);
  });
});

describe("sessions started at the charger", () => {
  it("a Plug&Charge session of a contract the driver holds appears in the driver's app", async () => {
    await gateway();
    const bob = await driver("bob", ["DE-GQL-C00000002-5"]);
    const [mine, bobs] = await subscribed(
      gw.gateway,
      () => [gw.subscribe(alice.token, SESSION_UPDATED), gw.subscribe(bob.token, SESSION_UPDATED)],
      2,
    );
    await eventually(() => gw.gateway.store.driverForContract(ALICE_EVCO), "the gateway to remember alice's contract from her token");

    const sessionId = "c0ffee00-1234-4abc-9def-000000000001";
    const start = {
      Type: "Start",
      SessionID: sessionId,
      EvseID: "DE*SIM*E0001*4",
      Identification: { PlugAndChargeIdentification: { EvcoID: ALICE_EVCO } },
      ChargingStart: new Date().toISOString(),
      SessionStart: new Date().toISOString(),
    };
    expect((await gw.postOicp("/api/oicp/notificationmgmt/v11/charging-notifications", start)).body.Result).toBe(true);
    const created = await mine.waitFor((s) => s.hubjectSessionId === sessionId && s.status === "CHARGING");
    expect(created).toMatchObject({ origin: "CHARGER", evcoId: ALICE_EVCO, evseId: "DE*SIM*E0001*4" });

    const now = new Date().toISOString();
    const cdr = {
      SessionID: sessionId,
      EvseID: "DE*SIM*E0001*4",
      Identification: { PlugAndChargeIdentification: { EvcoID: ALICE_EVCO } },
      SessionStart: start.SessionStart,
      ChargingStart: start.ChargingStart,
      ChargingEnd: now,
      SessionEnd: now,
      ConsumedEnergy: 12.5,
    };
    expect((await gw.postOicp("/api/oicp/cdrmgmt/v22/operators/DE*SIM/charge-detail-record", cdr)).body.Result).toBe(true);
    await mine.waitFor((s) => s.id === created.id && s.status === "COMPLETED" && s.consumedEnergyKwh === 12.5);
    expect(await stored(created.id)).toMatchObject({
      status: "COMPLETED",
      origin: "CHARGER",
      driverId: "alice",
      consumedEnergyKwh: "12.5",
    });
    expect(bobs.events).toEqual([]);
    expect(calls("AuthorizeRemoteStart")).toBe(0);
  });
});

describe("configuration faults", () => {
  it("a certificate/ProviderID mismatch (017) is a configuration error for the driver and one loud log line for the operator", async () => {
    const { pino } = await import("pino");
    const { startSimulator } = await import("../../src/simulator/hubject.simulator.js");
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    // Hubject knows this certificate as DE-SIM; the gateway is configured as DE-GQL.
    const hubject = await startSimulator({ providerId: "DE-SIM", port: 0 });
    try {
      gw = await startTestGateway({ env: { HUBJECT_BASE_URL: hubject.url, MUTATION_WAIT_MS: "2000" }, overrides: { logger } });
      alice = await driver("alice", [ALICE_EVCO]);
      for (let i = 0; i < 3; i++) {
        const { body } = await gw.graphql(START, { input: { evseId: EVSE } }, alice.token);
        expect(body.data.startCharging.error).toMatchObject({ code: "CONFIGURATION_ERROR", oicpStatusCode: "017", retryable: false });
        expect(body.data.startCharging.error.message).not.toMatch(/017|certificate|ProviderID/);
        expect(body.data.startCharging.session.status).toBe("REJECTED");
      }
      expect(hubject.callsTo("AuthorizeRemoteStart")).toHaveLength(3);
      const loud = lines.filter((l) => l.level >= 50);
      expect(loud).toHaveLength(1);
      expect(loud[0]!.msg).toMatch(/HUBJECT_PROVIDER_ID/);
    } finally {
      await gw.close();
      await hubject.close();
    }
  });
});
