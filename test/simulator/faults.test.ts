// Switchable faults over real sockets: what the gateway must survive between itself and Hubject
// (failNext) and from a CPO that bends the message flow (setCpoFaults). docs/oicp.md#transport, #status-codes, #session-flow.
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SESSION_ID } from "../../src/oicp/wire/identifiers.js";
import { oicpPaths } from "../../src/oicp/wire/types.js";
import { type HubjectSimulator, MALFORMED_JSON_BODY, startSimulator, type UpstreamFault } from "../../src/simulator/hubject.simulator.js";
import { eventually } from "../support/wait.js";
import { FAST, type FakeGateway, oicpClient, PROVIDER, post, simulatorTimers, startFakeGateway } from "./support.js";

let sim: HubjectSimulator;
let gw: FakeGateway;

const { start, stop, statusById, getCdrs } = oicpClient(() => sim.url);
const EVSE = "DE*SIM*E0001*1";

beforeEach(async () => {
  gw = await startFakeGateway();
  sim = await startSimulator({ providerId: PROVIDER, gatewayOicpUrl: gw.url, pace: FAST });
});
afterEach(async () => {
  await sim.close();
  await gw.close();
});

/** The request failed at the socket: no HTTP answer at all. */
async function socketError(answer: Promise<unknown>): Promise<string> {
  const error = await answer.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

const evseStatus = async (evseId: string) => (await statusById([evseId])).json.EVSEStatusRecords.EvseStatusRecord[0].EvseStatus as string;

/** Nothing was processed: no session, no message, the EVSE still free. */
async function expectNothingStarted(): Promise<void> {
  await sim.idle();
  expect(sim.hubjectSessionIdFor("emp-1")).toBeUndefined();
  expect(sim.deliveries).toHaveLength(0);
  expect(gw.received).toHaveLength(0);
  expect(await evseStatus(EVSE)).toBe("Available");
}

/** The session went on as if accepted: Start, then stop, End and CDR, all under one SessionID. */
async function expectSessionRuns(sessionId: string): Promise<void> {
  const startMsg = await eventually(() => gw.notifications("Start")[0], "the Start notification");
  expect(startMsg.body.SessionID).toBe(sessionId);
  expect((await stop(sessionId, EVSE)).json).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
  await sim.idle();
  expect(gw.notifications("End")[0]?.body.SessionID).toBe(sessionId);
  expect(gw.cdrs().map((r) => r.body.SessionID)).toEqual([sessionId]);
}

describe("failNext: remote start", () => {
  it("http 503: the status and body come back, Retry-After is set, and nothing starts", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "http", status: 503, retryAfterSeconds: 7 });
    const answer = await start(EVSE);
    expect(answer.status).toBe(503);
    expect(answer.text).toBe("Service Unavailable");
    expect(answer.headers["content-type"]).toBe("text/plain;charset=UTF-8");
    expect(answer.headers["retry-after"]).toBe("7");
    expect(sim.callsTo("AuthorizeRemoteStart")[0]?.fault).toBe("http");
    await expectNothingStarted();
  });

  it("http with a JSON or HTML body sends it with the matching content type", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "http", status: 429, body: '{"message":"Too Many Requests"}' });
    sim.failNext("AuthorizeRemoteStart", { kind: "http", status: 403, body: "<html><body>Forbidden</body></html>" });
    const limited = await start(EVSE);
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ message: "Too Many Requests" });
    expect(limited.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(limited.headers["retry-after"]).toBeUndefined();
    const firewall = await start(EVSE);
    expect(firewall.status).toBe(403);
    expect(firewall.headers["content-type"]).toBe("text/html;charset=UTF-8");
    await expectNothingStarted();
  });

  it("reset, forwarded: the client sees a socket error, and the session starts and ends anyway", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "reset", forwarded: true });
    expect(await socketError(start(EVSE))).toMatch(/socket hang up|ECONNRESET/);
    expect(sim.callsTo("AuthorizeRemoteStart")[0]?.fault).toBe("reset");
    // The EMP never got the SessionID; Hubject did create one (docs/oicp.md#lost-answer).
    const sessionId = sim.hubjectSessionIdFor("emp-1");
    expect(sessionId).toMatch(SESSION_ID);
    await expectSessionRuns(sessionId!);
  });

  it("reset, not forwarded: a socket error, and nothing arrives", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "reset", forwarded: false });
    await socketError(start(EVSE));
    await expectNothingStarted();
  });

  it("malformed-json, forwarded: HTTP 200 with unreadable JSON, then the session runs", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "malformed-json", forwarded: true });
    const answer = await start(EVSE);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(answer.text).toBe(MALFORMED_JSON_BODY);
    expect(() => JSON.parse(answer.text)).toThrow();
    await expectSessionRuns(sim.hubjectSessionIdFor("emp-1")!);
  });

  it("malformed-json, not forwarded: nothing arrives", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "malformed-json", forwarded: false });
    expect((await start(EVSE)).json).toBeUndefined();
    await expectNothingStarted();
  });

  it("status-code 310, forwarded: Result false with a SessionID, then the charger charges (example 04)", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "status-code", code: "310", forwarded: true });
    const answer = await start(EVSE);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      Result: false,
      StatusCode: { Code: "310", Description: "Partner did not respond", AdditionalInfo: null },
      SessionID: expect.stringMatching(SESSION_ID),
      CPOPartnerSessionID: null,
      EMPPartnerSessionID: "emp-1",
    });
    expect(answer.json.SessionID).toBe(sim.hubjectSessionIdFor("emp-1"));
    await expectSessionRuns(answer.json.SessionID);
  });

  it("status-code 001, not forwarded: Result false without a SessionID, and nothing starts", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "status-code", code: "001", forwarded: false });
    const answer = await start(EVSE);
    expect(answer.json).toMatchObject({ Result: false, StatusCode: { Code: "001" }, SessionID: null, EMPPartnerSessionID: "emp-1" });
    await expectNothingStarted();
  });

  it("delay: the normal answer comes after ms", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "delay", ms: 120 });
    const before = performance.now();
    const answer = await start(EVSE);
    expect(answer.at - before).toBeGreaterThanOrEqual(115);
    expect(answer.json).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    expect(sim.callsTo("AuthorizeRemoteStart")[0]?.fault).toBe("delay");
    await expectSessionRuns(answer.json.SessionID);
  });

  it("delay beyond the client's timeout: the answer is lost, nothing crashes, and the session runs", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "delay", ms: 150 });
    expect(await socketError(start(EVSE, {}, { timeoutMs: 30 }))).toBe("client gave up");
    const sessionId = sim.hubjectSessionIdFor("emp-1")!;
    // No Start before the (lost) answer went out: the CPO only acts on what it answered.
    await new Promise((r) => setTimeout(r, 60));
    expect(gw.received).toHaveLength(0);
    await expectSessionRuns(sessionId);
  });

  it("Hubject's own refusals still happen behind a forwarded fault (603 under a 310)", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "status-code", code: "310", forwarded: true });
    const answer = await start("DE*SIM*E9999*1");
    // Hubject refused before creating a SessionID; the fault only changed the answer.
    expect(answer.json).toMatchObject({ Result: false, StatusCode: { Code: "310" }, SessionID: null });
    await sim.idle();
    expect(sim.deliveries).toHaveLength(0);
  });
});

describe("failNext: remote stop", () => {
  async function charging(): Promise<string> {
    const sessionId = (await start(EVSE)).json.SessionID as string;
    await eventually(() => gw.notifications("Start").length === 1, "the Start notification");
    return sessionId;
  }

  it("reset, forwarded: the stop is lost to the client, but End and CDR follow", async () => {
    const sessionId = await charging();
    sim.failNext("AuthorizeRemoteStop", { kind: "reset", forwarded: true });
    await socketError(stop(sessionId, EVSE));
    await sim.idle();
    expect(gw.notifications("End")[0]?.body.SessionID).toBe(sessionId);
    expect(gw.cdrs()).toHaveLength(1);
    // A second stop now meets an ended session (docs/oicp.md#stop-after-end).
    expect((await stop(sessionId, EVSE)).json.StatusCode.Code).toBe("400");
  });

  it("http 502 and status-code not forwarded: the session keeps charging; a later stop works", async () => {
    const sessionId = await charging();
    sim.failNext("AuthorizeRemoteStop", { kind: "http", status: 502 });
    sim.failNext("AuthorizeRemoteStop", { kind: "status-code", code: "021", forwarded: false });
    expect((await stop(sessionId, EVSE)).status).toBe(502);
    expect((await stop(sessionId, EVSE)).json).toMatchObject({ Result: false, StatusCode: { Code: "021" }, SessionID: sessionId });
    const progressSoFar = gw.notifications("Progress").length;
    await eventually(() => gw.notifications("Progress").length > progressSoFar, "one more Progress notification");
    expect(gw.notifications("End")).toHaveLength(0);
    expect(await evseStatus(EVSE)).toBe("Occupied");
    expect((await stop(sessionId, EVSE)).json.Result).toBe(true);
    await sim.idle();
    expect(gw.cdrs()).toHaveLength(1);
  });

  it("status-code 310, forwarded: Result false, and the session ends anyway", async () => {
    const sessionId = await charging();
    sim.failNext("AuthorizeRemoteStop", { kind: "status-code", code: "310", forwarded: true });
    expect((await stop(sessionId, EVSE)).json).toMatchObject({ Result: false, StatusCode: { Code: "310" }, SessionID: sessionId });
    await sim.idle();
    expect(gw.kinds().slice(-2)).toEqual(["End", "CDR"]);
  });
});

describe("failNext: queue, pulls and checks", () => {
  it("is FIFO per operation, `times` repeats a fault, and the calls record what was applied", async () => {
    sim.failNext("PullEvseStatusById", { kind: "http", status: 500 }, 2);
    sim.failNext("PullEvseStatusById", { kind: "status-code", code: "001", forwarded: true });
    sim.failNext("GetChargeDetailRecords", { kind: "malformed-json", forwarded: false });

    expect((await statusById([EVSE])).status).toBe(500);
    expect((await statusById([EVSE])).status).toBe(500);
    // A pull is never forwarded: a status-code answer carries only the StatusCode (there is no Result).
    const failed = await statusById([EVSE]);
    expect(failed.status).toBe(200);
    expect(failed.json).toEqual({ StatusCode: { Code: "001", Description: "Hubject system error", AdditionalInfo: null } });
    expect((await statusById([EVSE])).json.EVSEStatusRecords.EvseStatusRecord).toHaveLength(1);
    // Each operation has its own queue.
    expect((await getCdrs({})).text).toBe(MALFORMED_JSON_BODY);
    expect((await getCdrs({})).json.StatusCode.Code).toBe("000");
    expect(sim.callsTo("PullEvseStatusById").map((c) => c.fault)).toEqual(["http", "http", "status-code", undefined]);
    expect(sim.callsTo("GetChargeDetailRecords").map((c) => c.fault)).toEqual(["malformed-json", undefined]);
    expect("fault" in sim.callsTo("PullEvseStatusById")[3]!).toBe(false);
  });

  it("a request Hubject refuses (HTTP 400, 401/017) does not consume the fault", async () => {
    sim.failNext("AuthorizeRemoteStart", { kind: "http", status: 503 });
    expect((await start("not-an-evse")).status).toBe(400);
    expect((await start(EVSE, { ProviderID: "DE-XYZ" })).status).toBe(401);
    const malformed = await post(`${sim.url}/${oicpPaths.remoteStart(PROVIDER)}`, undefined, { raw: "{not json" });
    expect(malformed.status).toBe(400);
    expect((await start(EVSE)).status).toBe(503);
    expect(sim.callsTo("AuthorizeRemoteStart").map((c) => c.fault)).toEqual([undefined, undefined, undefined, "http"]);
    expect((await start(EVSE)).json.Result).toBe(true);
  });

  it("delay on a pull answers after ms; reset on GetChargeDetailRecords is a socket error", async () => {
    sim.failNext("PullEvseStatusById", { kind: "delay", ms: 60 });
    sim.failNext("GetChargeDetailRecords", { kind: "reset", forwarded: true });
    const before = performance.now();
    const slow = await statusById([EVSE]);
    expect(slow.at - before).toBeGreaterThanOrEqual(55);
    expect(slow.json.StatusCode.Code).toBe("000");
    await socketError(getCdrs({}));
  });

  it("rejects what it cannot simulate", () => {
    expect(() => sim.failNext("Unknown", { kind: "http", status: 500 })).toThrow(RangeError);
    expect(() => sim.failNext("AuthorizeRemoteStart", { kind: "http", status: 500 }, 0)).toThrow(RangeError);
    const bad: UpstreamFault[] = [
      { kind: "http", status: 99 },
      { kind: "http", status: 503, retryAfterSeconds: -1 },
      { kind: "delay", ms: -5 },
      { kind: "status-code", code: "31", forwarded: true },
    ];
    for (const fault of bad) expect(() => sim.failNext("AuthorizeRemoteStart", fault)).toThrow(RangeError);
  });
});

describe("setCpoFaults", () => {
  it("notificationsBeforeAnswer: the Start is acknowledged before the remote-start answer arrives", async () => {
    sim.setCpoFaults({ notificationsBeforeAnswer: true });
    const answer = await start(EVSE);
    expect(answer.json).toMatchObject({ Result: true, SessionID: expect.stringMatching(SESSION_ID) });
    const [startMsg] = gw.notifications("Start");
    expect(startMsg?.body.SessionID).toBe(answer.json.SessionID);
    expect(startMsg?.ackedAt).toBeLessThan(answer.at);
    expect(sim.deliveries[0]).toMatchObject({ type: "Start", httpStatus: 200 });
    await expectSessionRuns(answer.json.SessionID);

    // The default for comparison: the answer first, the Start later.
    sim.clearFaults();
    sim.setPace({ startDelayMs: 50 });
    const normal = await start("DE*SIM*E0001*2");
    const normalStart = await eventually(
      () => gw.notifications("Start").find((r) => r.body.SessionID === normal.json.SessionID),
      "the Start of the normal session",
    );
    expect(normalStart.ackedAt).toBeGreaterThan(normal.at);
  });

  it("notificationsBeforeAnswer: an Error, or a stop before the Start, still releases the answer", async () => {
    sim.setCpoFaults({ notificationsBeforeAnswer: true });
    const refused = await start("DE*SIM*E0ERR*1");
    expect(gw.notifications("Error")[0]?.ackedAt).toBeLessThan(refused.at);

    // The EMP learns the SessionID early (hubjectSessionIdFor) and stops before the charger started.
    sim.setPace({ startDelayMs: 200 });
    const pending = start(EVSE, { EMPPartnerSessionID: "emp-2" });
    const sessionId = await eventually(() => sim.hubjectSessionIdFor("emp-2"), "the SessionID Hubject made for emp-2");
    expect((await stop(sessionId, EVSE)).json.Result).toBe(true);
    const answer = await pending;
    expect(answer.json.SessionID).toBe(sessionId);
    await sim.idle();
    expect(gw.notifications("Start").filter((r) => r.body.SessionID === sessionId)).toHaveLength(0);
    expect(gw.cdrs().map((r) => r.body.SessionID)).toEqual([sessionId]);
  });

  it("copyEmpPartnerSessionId false: only the SessionID links notifications and CDR", async () => {
    sim.setCpoFaults({ copyEmpPartnerSessionId: false });
    const answer = await start(EVSE);
    expect(answer.json.EMPPartnerSessionID).toBe("emp-1"); // the acknowledgement is Hubject's
    await expectSessionRuns(answer.json.SessionID);
    expect(gw.received.length).toBeGreaterThanOrEqual(3);
    for (const r of gw.received) {
      expect(r.body.EMPPartnerSessionID).toBeNull();
      expect(r.body.SessionID).toBe(answer.json.SessionID);
    }
    expect((await getCdrs({})).json.content[0].EMPPartnerSessionID).toBeNull();
  });

  it("duplicateDeliveries: every message twice, back to back, with identical bodies", async () => {
    sim.setCpoFaults({ duplicateDeliveries: true });
    const sessionId = (await start(EVSE)).json.SessionID as string;
    await eventually(() => gw.notifications("Progress").length >= 2, "two Progress notifications");
    await stop(sessionId, EVSE);
    await sim.idle();
    const received = gw.received;
    expect(received.length % 2).toBe(0);
    for (let i = 0; i < received.length; i += 2) {
      expect(received[i + 1]?.path).toBe(received[i]?.path);
      expect(received[i + 1]?.body).toEqual(received[i]?.body);
    }
    const kinds = gw.kinds().filter((_, i) => i % 2 === 0);
    expect(kinds[0]).toBe("Start");
    expect(kinds.slice(-2)).toEqual(["End", "CDR"]);
    expect(sim.deliveries).toHaveLength(received.length);
    // The CDR counts as forwarded once acknowledged.
    expect((await getCdrs({ CDRForwarded: false })).json.totalElements).toBe(0);
  });

  it("reorderDeliveries: Progress in reversed pairs, the End after the CDR, a lone Progress last", async () => {
    // Progress at 80, 160, 240 ms; the driver unplugs at 280 ms: three Progress, the 3rd unpaired.
    sim.setPace({ progressIntervalMs: 80, autoStopAfterMs: 280 });
    sim.setCpoFaults({ reorderDeliveries: true });
    const sessionId = (await start(EVSE)).json.SessionID as string;
    await sim.idle();
    const progressAt = (r: { body: Record<string, unknown> }) => Date.parse(r.body.EventOccurred as string);
    const generated = [...gw.notifications("Progress")].sort((a, b) => progressAt(a) - progressAt(b));
    expect(generated).toHaveLength(3);
    const [p1, p2, p3] = generated;
    expect(gw.received).toEqual([gw.notifications("Start")[0], p2, p1, gw.cdrs()[0], gw.notifications("End")[0], p3]);
    expect(gw.received.every((r) => r.body.SessionID === sessionId)).toBe(true);
    // The End still knows about every Progress: nothing was lost, only delayed.
    const end = gw.notifications("End")[0];
    expect((end?.body.MeterValueInBetween as { meterValues: number[] } | undefined)?.meterValues).toHaveLength(3);
  });

  it("reorderDeliveries: an even number of Progress leaves nothing behind the End", async () => {
    sim.setPace({ progressIntervalMs: 80, autoStopAfterMs: 200 });
    sim.setCpoFaults({ reorderDeliveries: true });
    await start(EVSE);
    await sim.idle();
    expect(gw.kinds()).toEqual(["Start", "Progress", "Progress", "CDR", "End"]);
    const [, later, earlier] = gw.received;
    expect(Date.parse(later?.body.EventOccurred as string)).toBeGreaterThan(Date.parse(earlier?.body.EventOccurred as string));
  });

  it("suppressNotifications: only the CDR arrives", async () => {
    sim.setCpoFaults({ suppressNotifications: true });
    const sessionId = (await start(EVSE)).json.SessionID as string;
    await new Promise((r) => setTimeout(r, 80)); // Start and a few Progress would have gone out by now
    expect(gw.received).toHaveLength(0);
    await stop(sessionId, EVSE);
    await sim.idle();
    expect(gw.kinds()).toEqual(["CDR"]);
    expect(gw.cdrs()[0]?.body).toMatchObject({ SessionID: sessionId, ConsumedEnergy: expect.any(Number) });
  });

  it("suppressCdrDelivery: no CDR is pushed, and GetChargeDetailRecords CDRForwarded:false returns it", async () => {
    sim.setCpoFaults({ suppressCdrDelivery: true });
    const sessionId = (await start(EVSE)).json.SessionID as string;
    await eventually(() => gw.notifications("Start").length === 1, "the Start notification");
    await stop(sessionId, EVSE);
    await sim.idle();
    expect(gw.kinds().at(-1)).toBe("End");
    expect(gw.cdrs()).toHaveLength(0);
    expect(sim.deliveries.some((d) => d.kind === "CDR")).toBe(false);
    const stored = await getCdrs({ CDRForwarded: false });
    expect(stored.json.content.map((c: { SessionID: string }) => c.SessionID)).toEqual([sessionId]);
    expect(stored.json.content[0].ConsumedEnergy).toBe(gw.notifications("End")[0]?.body.ConsumedEnergy);
  });

  it("applies to sessions started from now on; clearFaults empties the queues and restores the defaults", async () => {
    sim.setPace({ autoStopAfterMs: 60 });
    sim.setCpoFaults({ suppressNotifications: true });
    const quiet = (await start(EVSE)).json.SessionID as string;
    sim.setCpoFaults({ suppressNotifications: false, suppressCdrDelivery: true }); // not for `quiet`
    sim.failNext("AuthorizeRemoteStart", { kind: "http", status: 503 }, 3);
    sim.clearFaults();
    const loud = (await start("DE*SIM*E0001*2")).json.SessionID as string;
    await sim.idle();
    expect(sim.calls.every((c) => c.fault === undefined)).toBe(true);
    const kindsOf = (sessionId: string) => gw.kinds().filter((_, i) => gw.received[i]?.body.SessionID === sessionId);
    expect(kindsOf(quiet)).toEqual(["CDR"]);
    expect(kindsOf(loud)[0]).toBe("Start");
    expect(kindsOf(loud).slice(-2)).toEqual(["End", "CDR"]);
  });
});

describe("idle() and close() with faults", () => {
  it("close() leaves no timers and no sockets behind with faults pending", async () => {
    const timers = simulatorTimers();
    try {
      sim.setPace({ progressIntervalMs: 20 });
      sim.setCpoFaults({ reorderDeliveries: true, duplicateDeliveries: true });
      await start(EVSE);
      await eventually(() => gw.notifications("Progress").length >= 2, "two Progress notifications"); // a Progress may be held now
      sim.setCpoFaults({ notificationsBeforeAnswer: true });
      sim.setPace({ startDelayMs: 5_000 });
      // Handlers are attached at once: the requests fail when close() cuts their sockets.
      const waitingForStart = socketError(start("DE*SIM*E0001*2", { EMPPartnerSessionID: "emp-2" }));
      sim.failNext("PullEvseStatusById", { kind: "delay", ms: 5_000 });
      const delayed = socketError(statusById([EVSE]));
      await eventually(
        () => sim.hubjectSessionIdFor("emp-2") && sim.callsTo("PullEvseStatusById").length === 1,
        "emp-2's SessionID and the delayed status request",
      );
      await sim.close();
      await sim.idle();
      await waitingForStart;
      await delayed;
      expect(await timers.aliveAfterDestroyHooks()).toBe(0);
      const seen = gw.received.length;
      // No timer is left to send anything new; what was on its way has arrived once no
      // connection to the fake gateway is open any more.
      await gw.idle();
      expect(gw.received.length).toBe(seen);
    } finally {
      timers.stop();
    }
  });

  it("idle() waits for a delayed answer and for messages held by reorderDeliveries", async () => {
    sim.setPace({ autoStopAfterMs: 60 });
    sim.setCpoFaults({ reorderDeliveries: true });
    sim.failNext("AuthorizeRemoteStart", { kind: "delay", ms: 50 });
    const answered = start(EVSE);
    await eventually(() => sim.callsTo("AuthorizeRemoteStart").length === 1, "the remote start at the simulator");
    await sim.idle();
    expect((await answered).json.Result).toBe(true);
    expect(gw.kinds().slice(-2)).toContain("End");
    expect(gw.cdrs()).toHaveLength(1);
  });
});
