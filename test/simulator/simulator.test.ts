// The simulator over real sockets: a fake gateway OICP listener records what the simulated
// CPO pushes, and requests go to the simulator exactly as the datasource will send them.
import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EVSE_ID, SESSION_ID } from "../../src/oicp/wire/identifiers.js";
import { oicpPaths } from "../../src/oicp/wire/types.js";
import { type HubjectSimulator, SIMULATED_EVSES, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { eventually } from "../support/wait.js";
import { EVCO, FAST, type FakeGateway, oicpClient, PROVIDER, post, simulatorTimers, startFakeGateway } from "./support.js";

let sim: HubjectSimulator;
let gw: FakeGateway;

const { start, stop, statusById, getCdrs } = oicpClient(() => sim.url);

beforeEach(async () => {
  gw = await startFakeGateway();
  sim = await startSimulator({ providerId: PROVIDER, gatewayOicpUrl: gw.url, pace: FAST });
});
afterEach(async () => {
  await sim.close();
  await gw.close();
});

describe("catalogue", () => {
  it("uses valid, unique EvseIDs and is served for the app", async () => {
    for (const evse of SIMULATED_EVSES) expect(evse.evseId).toMatch(EVSE_ID);
    expect(new Set(SIMULATED_EVSES.map((e) => e.evseId)).size).toBe(SIMULATED_EVSES.length);
    const list = await new Promise<unknown[]>((resolve, reject) =>
      http
        .get(sim.url.replace("/api/oicp", "/simulator/catalogue"), { agent: false }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve(JSON.parse(text) as unknown[]));
        })
        .on("error", reject),
    );
    expect(list).toHaveLength(SIMULATED_EVSES.length);
    expect(list[0]).toMatchObject({ evseId: "DE*SIM*E0001*1", status: "Available" });
  });
});

describe("remote start accepted, then stop", () => {
  it("sends Start, rising Progress, End and a consistent CDR at the v22 path", async () => {
    // A Service URL with a path: Hubject appends /api/oicp/... to it (docs/oicp.md#inbound).
    sim.setGatewayOicpUrl(`${gw.url}/oicp/`);
    const answer = await start("DE*SIM*E0001*1", { SessionID: "ignored-by-hubject" });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(answer.headers["process-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.json).toMatchObject({ Result: true, StatusCode: { Code: "000" }, EMPPartnerSessionID: "emp-1" });
    const sessionId: string = answer.json.SessionID;
    expect(sessionId).toMatch(SESSION_ID);
    expect(answer.json.CPOPartnerSessionID).toEqual(expect.any(String));

    await eventually(() => gw.notifications("Progress").length >= 2, "two Progress notifications");
    const [startMsg] = gw.notifications("Start");
    expect(startMsg?.path).toBe("/oicp/api/oicp/notificationmgmt/v11/charging-notifications");
    expect(startMsg?.body).toMatchObject({
      Type: "Start",
      SessionID: sessionId,
      CPOPartnerSessionID: answer.json.CPOPartnerSessionID,
      EMPPartnerSessionID: "emp-1",
      Identification: { RemoteIdentification: { EvcoID: EVCO } },
      EvseID: "DE*SIM*E0001*1",
      OperatorID: "DE*SIM",
      PartnerProductID: "AC3",
      MeterValueStart: expect.any(Number),
    });
    const chargingStart = startMsg?.body.ChargingStart as string;
    expect(chargingStart).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+02:00$/);
    expect(Math.abs(new Date(chargingStart).getTime() - Date.now())).toBeLessThan(5000);
    expect(new Date(startMsg?.body.SessionStart as string).getTime()).toBeLessThanOrEqual(new Date(chargingStart).getTime());

    const progress = gw.notifications("Progress").map((r) => r.body);
    const energies = progress.map((p) => p.ConsumedEnergyProgress as number);
    expect(energies[1]).toBeGreaterThan(energies[0] ?? Infinity);
    for (const p of progress) {
      expect(Number.isInteger((p.ConsumedEnergyProgress as number) * 1000)).toBe(true);
      expect(p.ChargingDuration).toBe(new Date(p.EventOccurred as string).getTime() - new Date(chargingStart).getTime());
      expect((p.MeterValueInBetween as { meterValues: number[] }).meterValues.length).toBeGreaterThan(0);
    }
    expect((await statusById(["DE*SIM*E0001*1"])).json.EVSEStatusRecords.EvseStatusRecord[0].EvseStatus).toBe("Occupied");

    const stopped = await stop(sessionId, "DE*SIM*E0001*1");
    expect(stopped.json).toMatchObject({ Result: true, StatusCode: { Code: "000" }, SessionID: sessionId });
    await sim.idle();

    const end = gw.notifications("End")[0]?.body;
    expect(end).toMatchObject({ SessionID: sessionId, ChargingStart: chargingStart });
    const meterStart = end?.MeterValueStart as number;
    const meterEnd = end?.MeterValueEnd as number;
    expect(end?.ConsumedEnergy).toBeCloseTo(meterEnd - meterStart, 6);
    expect(end?.ConsumedEnergy as number).toBeGreaterThanOrEqual(energies.at(-1) ?? Infinity);
    expect(new Date(end?.PenaltyTimeStart as string).getTime()).toBeGreaterThan(new Date(end?.ChargingEnd as string).getTime());

    const [cdr] = gw.cdrs();
    expect(cdr?.path).toBe("/oicp/api/oicp/cdrmgmt/v22/operators/DE*SIM/charge-detail-record");
    expect(cdr?.body).toMatchObject({
      SessionID: sessionId,
      EvseID: "DE*SIM*E0001*1",
      Identification: { RemoteIdentification: { EvcoID: EVCO } },
      ChargingStart: chargingStart,
      ChargingEnd: end?.ChargingEnd,
      MeterValueStart: meterStart,
      MeterValueEnd: meterEnd,
      ConsumedEnergy: end?.ConsumedEnergy,
    });
    // Messages arrive in order, each once. More Progress may have gone out while the stop was on
    // its way (the CPO charges until it gets it), so count them now that the simulator is idle.
    const allProgress = gw.notifications("Progress");
    expect(allProgress.length).toBeGreaterThanOrEqual(progress.length);
    expect(new Set(allProgress.map((r) => r.body.EventOccurred)).size).toBe(allProgress.length);
    expect(gw.received.map((r) => (r.body.Type as string) ?? "CDR")).toEqual(["Start", ...allProgress.map(() => "Progress"), "End", "CDR"]);
    expect(sim.deliveries.every((d) => d.httpStatus === 200 && d.error === null)).toBe(true);

    // Stop again, after the end: "Session is invalid" (docs/oicp.md#stop-after-end).
    expect((await stop(sessionId, "DE*SIM*E0001*1")).json).toMatchObject({ Result: false, StatusCode: { Code: "400" } });
    expect((await statusById(["DE*SIM*E0001*1"])).json.EVSEStatusRecords.EvseStatusRecord[0].EvseStatus).toBe("Available");
  });

  it("continues the EVSE's meter across sessions and applies the DC power", async () => {
    sim.setPace({ powerKw: 150, autoStopAfterMs: 40 });
    const first = (await start("DE*SIM*E0001*4")).json.SessionID as string;
    await eventually(() => gw.cdrs().length === 1, "the first CDR");
    const second = (await start("DE*SIM*E0001*4")).json.SessionID as string;
    await eventually(() => gw.cdrs().length === 2, "the second CDR");
    const [a, b] = gw.cdrs().map((r) => r.body);
    expect(a?.SessionID).toBe(first);
    expect(b?.SessionID).toBe(second);
    expect(b?.MeterValueStart).toBe(a?.MeterValueEnd);
    // 150 kW for >= 40 ms at 3600x: at least 1.6 kWh.
    expect(a?.ConsumedEnergy as number).toBeGreaterThanOrEqual(1.6);
  });

  it("ends by itself after autoStopAfterMs: End and CDR without a stop request", async () => {
    sim.setPace({ autoStopAfterMs: 60 });
    const sessionId = (await start("DE*SIM*E0001*2")).json.SessionID as string;
    await eventually(() => gw.cdrs().length === 1, "the CDR");
    expect(sim.callsTo("AuthorizeRemoteStop")).toHaveLength(0);
    expect(gw.notifications("End")[0]?.body.SessionID).toBe(sessionId);
    expect(gw.cdrs()[0]?.body.SessionID).toBe(sessionId);
  });

  it("answers the slow EVSE after slowAnswerMs, then behaves as accepting", async () => {
    const before = Date.now();
    const answer = await start("DE*SIM*E0002*1");
    expect(Date.now() - before).toBeGreaterThanOrEqual(75);
    expect(answer.json).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    await eventually(() => gw.notifications("Start").length === 1, "the Start notification");
  });
});

describe("remote start refused", () => {
  it.each([
    ["DE*SIM*E9999*1", "603", false],
    ["DE*SIM*E0501*1", "501", true],
    ["DE*SIM*E0602*1", "602", true],
    ["DE*SIM*E0210*1", "210", false],
    ["DE*SIM*E0700*1", "700", true],
  ])("%s -> %s", async (evseId, code, hasSessionId) => {
    const answer = await start(evseId);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ Result: false, StatusCode: { Code: code }, EMPPartnerSessionID: "emp-1" });
    expect(answer.json.SessionID === null).toBe(!hasSessionId);
    await sim.idle();
    expect(sim.deliveries).toHaveLength(0);
  });

  it("602 when the EVSE already has a simulated session (e.g. the EMP's own duplicate start)", async () => {
    expect((await start("DE*SIM*E0001*3")).json.Result).toBe(true);
    expect((await start("DE*SIM*E0001*3")).json).toMatchObject({ Result: false, StatusCode: { Code: "602" } });
  });

  it("310 (CPO timeout) carries a SessionID, and the charger starts anyway", async () => {
    const answer = await start("DE*SIM*E0310*1");
    expect(answer.json).toMatchObject({ Result: false, StatusCode: { Code: "310", Description: "Partner did not respond" } });
    expect(answer.json.SessionID).toMatch(SESSION_ID);
    const startMsg = await eventually(() => gw.notifications("Start")[0], "the Start notification");
    expect(startMsg.body.SessionID).toBe(answer.json.SessionID);
    expect((await stop(answer.json.SessionID, "DE*SIM*E0310*1")).json.Result).toBe(true);
    await sim.idle();
    expect(gw.cdrs()).toHaveLength(1);
  });

  it("connector-error accepts, then sends an Error notification instead of Start; the session is over", async () => {
    const answer = await start("DE*SIM*E0ERR*1");
    expect(answer.json.Result).toBe(true);
    await sim.idle();
    expect(gw.notifications().map((r) => r.body.Type)).toEqual(["Error"]);
    expect(gw.notifications("Error")[0]?.body).toMatchObject({
      SessionID: answer.json.SessionID,
      EvseID: "DE*SIM*E0ERR*1",
      ErrorType: "ConnectorError",
      ErrorAdditionalInfo: expect.any(String),
    });
    expect((await stop(answer.json.SessionID, "DE*SIM*E0ERR*1")).json.StatusCode.Code).toBe("400");
    expect((await start("DE*SIM*E0ERR*1")).json.Result).toBe(true);
  });
});

describe("Hubject's request checks", () => {
  it("017 over HTTP 401 when the ProviderID in the path or body is not the certificate's", async () => {
    const wrongPath = await post(`${sim.url}/${oicpPaths.remoteStart("DE*DCB")}`, {
      ProviderID: "DE*DCB",
      EvseID: "DE*SIM*E0001*1",
      Identification: { RemoteIdentification: { EvcoID: EVCO } },
    });
    expect(wrongPath.status).toBe(401);
    expect(wrongPath.json).toEqual({ StatusCode: { Code: "017", Description: "Unauthorized Access", AdditionalInfo: null } });
    const wrongBody = await start("DE*SIM*E0001*1", { ProviderID: "DE-XYZ" });
    expect(wrongBody.status).toBe(401);
    expect(wrongBody.json.StatusCode.Code).toBe("017");
    expect(sim.deliveries).toHaveLength(0);
  });

  it("HTTP 400 (not OICP-shaped) for a bad EvseID, a missing EvcoID and malformed JSON", async () => {
    const badEvse = await start("not-an-evse");
    expect(badEvse.status).toBe(400);
    expect(badEvse.json).toMatchObject({
      message: "Error parsing/validating JSON.",
      extendedInfo: null,
      validationErrors: [{ fieldReference: "evseID", errorMessage: expect.stringContaining("must match") }],
    });
    const noEvco = await start("DE*SIM*E0001*1", { Identification: { RFIDMifareFamilyIdentification: { UID: "1234ABCD" } } });
    expect(noEvco.status).toBe(400);
    expect(noEvco.json.validationErrors[0].fieldReference).toBe("identification.remoteIdentification.evcoID");
    const malformed = await post(`${sim.url}/${oicpPaths.remoteStart(PROVIDER)}`, undefined, { raw: "{not json" });
    expect(malformed.status).toBe(400);
    expect(malformed.json.validationErrors).toEqual(expect.any(Array));
    expect(sim.callsTo("AuthorizeRemoteStart").at(-1)?.body).toBe("{not json");
  });

  it("404 with an OICP body for unknown paths", async () => {
    const answer = await post(`${sim.url}/charging/v99/nothing`, {});
    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ StatusCode: { Code: "300" }, message: expect.any(String) });
    expect(sim.callsTo("Unknown")).toHaveLength(1);
  });

  it("records every call with operation, path, headers and body", async () => {
    await start("DE*SIM*E0001*1");
    await statusById(["DE*SIM*E0001*1"]);
    expect(sim.calls.map((c) => c.operation)).toEqual(["AuthorizeRemoteStart", "PullEvseStatusById"]);
    const [call] = sim.callsTo("AuthorizeRemoteStart");
    expect(call).toMatchObject({
      method: "POST",
      path: "/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/start",
      body: { EvseID: "DE*SIM*E0001*1" },
    });
    expect(call?.headers["content-type"]).toBe("application/json");
    expect(call?.receivedAt).toBeInstanceOf(Date);
  });
});

describe("PullEvseStatusByID", () => {
  it("answers in request order with the simulated statuses", async () => {
    await start("DE*SIM*E0001*2");
    const ids = ["DE*SIM*E0700*1", "DE*SIM*E0001*1", "DE*SIM*E0001*2", "DE*SIM*E0501*1", "DE*SIM*E9999*9", "de*sim*E0602*1"];
    const answer = await statusById(ids);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      EVSEStatusRecords: {
        EvseStatusRecord: [
          { EvseID: "DE*SIM*E0700*1", EvseStatus: "OutOfService" },
          { EvseID: "DE*SIM*E0001*1", EvseStatus: "Available" },
          { EvseID: "DE*SIM*E0001*2", EvseStatus: "Occupied" },
          { EvseID: "DE*SIM*E0501*1", EvseStatus: "Unknown" },
          { EvseID: "DE*SIM*E9999*9", EvseStatus: "EvseNotFound" },
          { EvseID: "de*sim*E0602*1", EvseStatus: "Occupied" },
        ],
      },
      StatusCode: { Code: "000", Description: null, AdditionalInfo: null },
    });
  });

  it("HTTP 400 for more than 100 ids or none", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `DE*SIM*E0001*${i}`);
    expect((await statusById(many)).status).toBe(400);
    expect((await statusById(many.slice(0, 100))).status).toBe(200);
    const none = await statusById([]);
    expect(none.status).toBe(400);
    expect(none.json.validationErrors[0].fieldReference).toBe("evseID");
  });
});

describe("GetChargeDetailRecords", () => {
  async function runSession(evseId: string): Promise<string> {
    const sessionId = (await start(evseId)).json.SessionID as string;
    await eventually(() => gw.notifications("Start").some((r) => r.body.SessionID === sessionId), "the Start of this session");
    await stop(sessionId, evseId);
    await sim.idle();
    return sessionId;
  }

  it("CDRForwarded:false returns only the CDRs the gateway did not acknowledge", async () => {
    let refuse = true;
    gw.answerWith((r) =>
      r.path.includes("charge-detail-record") && refuse
        ? { Result: false, StatusCode: { Code: "021", Description: "System error" } }
        : { Result: true, StatusCode: { Code: "000" } },
    );
    const lost = await runSession("DE*SIM*E0001*1");
    refuse = false;
    const delivered = await runSession("DE*SIM*E0001*2");

    const notForwarded = await getCdrs({ CDRForwarded: false });
    expect(notForwarded.status).toBe(200);
    expect(notForwarded.json.content.map((c: { SessionID: string }) => c.SessionID)).toEqual([lost]);
    expect(notForwarded.json).toMatchObject({
      number: 0,
      size: 100,
      totalElements: 1,
      totalPages: 1,
      first: true,
      last: true,
      numberOfElements: 1,
      StatusCode: { Code: "000" },
    });
    expect(notForwarded.json.content[0]).toMatchObject({ EvseID: "DE*SIM*E0001*1", ConsumedEnergy: expect.any(Number) });

    const all = await getCdrs({});
    expect(all.json.content.map((c: { SessionID: string }) => c.SessionID)).toEqual([lost, delivered]);
    expect((await getCdrs({ SessionID: [delivered] })).json.totalElements).toBe(1);
    const paged = await getCdrs({}, "?page=1&size=1");
    expect(paged.json).toMatchObject({ number: 1, size: 1, totalElements: 2, totalPages: 2, first: false, last: true });
    expect(paged.json.content[0].SessionID).toBe(delivered);
    const past = await getCdrs({ From: "2000-01-01T00:00:00+00:00", To: "2000-01-02T00:00:00+00:00" });
    expect(past.json).toMatchObject({ content: [], totalElements: 0, empty: true });
    expect((await getCdrs({}, "?page=0&size=2001")).status).toBe(400);
    expect((await getCdrs({ From: "yesterday" })).status).toBe(400);
  });

  it("keeps CDRs it could not deliver to an unreachable gateway, and records the failure", async () => {
    const deadUrl = gw.url;
    await gw.close();
    const sessionId = (await start("DE*SIM*E0001*1")).json.SessionID as string;
    await eventually(() => sim.deliveries.length > 0, "a delivery attempt");
    await stop(sessionId, "DE*SIM*E0001*1");
    await sim.idle();
    const cdrDelivery = sim.deliveries.find((d) => d.kind === "CDR");
    expect(cdrDelivery).toMatchObject({ sessionId, httpStatus: null, ack: null, url: expect.stringContaining(deadUrl) });
    expect(cdrDelivery?.error).toEqual(expect.any(String));
    const notForwarded = await getCdrs({ CDRForwarded: false, SessionID: [sessionId] });
    expect(notForwarded.json.totalElements).toBe(1);
    gw = await startFakeGateway(); // afterEach closes it
  });

  it("records 'no gateway url' when none is set", async () => {
    await sim.close();
    sim = await startSimulator({ providerId: PROVIDER, pace: { ...FAST, autoStopAfterMs: 20 } });
    await start("DE*SIM*E0001*1");
    await eventually(() => sim.deliveries.some((d) => d.kind === "CDR"), "the CDR delivery attempt");
    expect(sim.deliveries.map((d) => d.error)).toEqual(sim.deliveries.map(() => "no gateway url"));
    expect((await getCdrs({ CDRForwarded: false })).json.totalElements).toBe(1);
  });
});

describe("close()", () => {
  it("leaves no timers and sends nothing more", async () => {
    const timers = simulatorTimers();
    try {
      const sessionId = (await start("DE*SIM*E0001*1")).json.SessionID as string;
      const slow = start("DE*SIM*E0002*1").catch((error: unknown) => error); // still unanswered at close()
      await eventually(() => gw.notifications("Progress").length > 0, "a Progress notification");
      expect(timers.alive.size).toBeGreaterThan(0);
      await sim.close();
      await sim.idle(); // resolves at once after close
      expect(await slow).toBeInstanceOf(Error);
      expect(await timers.aliveAfterDestroyHooks()).toBe(0);
      const seen = gw.received.length;
      // No timer is left to send anything new; what was on its way has arrived once no
      // connection to the fake gateway is open any more.
      await gw.idle();
      expect(gw.received.length).toBe(seen);
      expect(gw.received.every((r) => r.body.SessionID === sessionId)).toBe(true);
    } finally {
      timers.stop();
    }
  });
});
