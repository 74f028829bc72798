// Billing truth over real sockets: what Hubject forwards is read the way Hubject accepts it, kept
// exactly, matched with OICP's comparison rules, and judged before it reaches the driver. Each
// input is one of docs/oicp.md's traps (issue 11); the CDRs and notifications are posted to the
// gateway's OICP listener as Hubject would post them.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { driver, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

const NOTIFICATIONS = "/api/oicp/notificationmgmt/v11/charging-notifications";
const cdrPath = (operatorId = "DE*SIM") => `/api/oicp/cdrmgmt/v22/operators/${operatorId}/charge-detail-record`;
const ALICE_EVCO = "DE-GQL-C00000001-7";
const EVSE = "DE*SIM*E0001*4";

let gw: TestGateway;
let alice: TestDriver;
beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("alice", [ALICE_EVCO]);
  await gw.graphql("{ chargingSessions(first: 1) { nodes { id } } }", {}, alice.token);
  await eventually(() => gw.gateway.store.driverForContract(ALICE_EVCO), "the gateway to remember alice's contract");
});
afterAll(() => gw.close());

const FIGURES = `
  id status hubjectSessionId consumedEnergyKwh consumedEnergyKwhDecimal chargingStartedAt chargingStartedAtLocal
  anomalies { field kind detail }
  chargeDetailRecord {
    consumedEnergyKwh consumedEnergyKwhDecimal meterValueStartDecimal meterValueEndDecimal
    sessionStart sessionEnd chargingStart chargingEnd sessionStartLocal chargingStartLocal anomalies { field kind detail }
  }`;
const session = async (id: string) =>
  (await gw.graphql(`query($id: ID!) { chargingSession(id: $id) { ${FIGURES} } }`, { id }, alice.token)).body.data.chargingSession;
const sessionsOfAlice = async () =>
  (await gw.graphql("{ chargingSessions(first: 50) { nodes { id hubjectSessionId } } }", {}, alice.token)).body.data.chargingSessions
    .nodes as Array<{
    id: string;
    hubjectSessionId: string;
  }>;

const identification = { PlugAndChargeIdentification: { EvcoID: ALICE_EVCO } };
const start = (sessionId: string, fields: Record<string, unknown> = {}) => ({
  Type: "Start",
  SessionID: sessionId,
  EvseID: EVSE,
  OperatorID: "DE*SIM",
  Identification: identification,
  SessionStart: "2026-12-04T09:00:00+01:00",
  ChargingStart: "2026-12-04T09:00:30+01:00",
  MeterValueStart: 1234.567,
  ...fields,
});
const cdr = (sessionId: string, fields: Record<string, unknown> = {}) => ({
  SessionID: sessionId,
  EvseID: EVSE,
  Identification: identification,
  SessionStart: "2026-12-04T09:00:00+01:00",
  SessionEnd: "2026-12-04T11:00:00+01:00",
  ChargingStart: "2026-12-04T09:00:30+01:00",
  ChargingEnd: "2026-12-04T10:45:00+01:00",
  MeterValueStart: 1234.567,
  MeterValueEnd: 1255.91,
  ConsumedEnergy: 21.343,
  ...fields,
});
const without = (body: Record<string, unknown>, ...fields: string[]) =>
  Object.fromEntries(Object.entries(body).filter(([key]) => !fields.includes(key)));

/** A Plug&Charge session of Alice's that the charger started: its Start arrives first. */
async function pluggedIn(fields: Record<string, unknown> = {}): Promise<{ id: string; hubjectSessionId: string }> {
  const hubjectSessionId = randomUUID();
  const answer = await gw.postOicp(NOTIFICATIONS, start(hubjectSessionId, fields));
  expect(answer.body).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
  const found = await eventually(
    async () => (await sessionsOfAlice()).find((s) => s.hubjectSessionId === hubjectSessionId),
    "the session the Start made",
  );
  return { id: found.id, hubjectSessionId };
}
const postCdr = (body: unknown, operatorId?: string) => gw.postOicp(cdrPath(operatorId), body);
/** The fields the API names with anomalies of this kind. */
const fieldsFlagged = (anomalies: Array<{ field: string; kind: string }>, kind: string) =>
  anomalies.filter((a) => a.kind === kind).map((a) => a.field);

describe("every CDR is kept, read the way Hubject accepts it", () => {
  it("a CDR without ChargingStart, ChargingEnd and ConsumedEnergy completes the session and names what was missing", async () => {
    const { id, hubjectSessionId } = await pluggedIn({ MeterValueStart: undefined });
    const answer = await postCdr(
      without(cdr(hubjectSessionId), "ChargingStart", "ChargingEnd", "ConsumedEnergy", "MeterValueStart", "MeterValueEnd"),
    );
    expect(answer.body).toMatchObject({ Result: true, StatusCode: { Code: "000" }, SessionID: hubjectSessionId });
    const completed = await session(id);
    expect(completed.status).toBe("COMPLETED");
    expect(completed.chargeDetailRecord).toMatchObject({ consumedEnergyKwhDecimal: null, chargingEnd: null });
    // The record shows what the CDR had; the session keeps the Start's charging time where the CDR has none.
    expect(completed.chargeDetailRecord.chargingStart).toBeNull();
    expect(completed.chargingStartedAt).toBe("2026-12-04T08:00:30.000Z");
    expect(fieldsFlagged(completed.chargeDetailRecord.anomalies, "MISSING")).toEqual(
      expect.arrayContaining(["ChargingStart", "ChargingEnd", "ConsumedEnergy"]),
    );
  });

  it('"21,343" and "1.234567e3" are read exactly and marked repaired', async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const body = JSON.stringify(cdr(hubjectSessionId))
      .replace('"ConsumedEnergy":21.343', '"ConsumedEnergy":"21,343"')
      .replace('"MeterValueStart":1234.567', '"MeterValueStart":1.234567e3');
    expect((await postCdr(body)).body.Result).toBe(true);
    const completed = await session(id);
    expect(completed).toMatchObject({ status: "COMPLETED", consumedEnergyKwhDecimal: "21.343", consumedEnergyKwh: 21.343 });
    expect(completed.chargeDetailRecord).toMatchObject({
      consumedEnergyKwhDecimal: "21.343",
      meterValueStartDecimal: "1234.567",
      meterValueEndDecimal: "1255.91",
    });
    expect(completed.chargeDetailRecord.anomalies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: "ConsumedEnergy", kind: "REPAIRED" }),
        expect.objectContaining({ field: "MeterValueStart", kind: "REPAIRED" }),
      ]),
    );
  });

  it("decimals keep every digit they were sent with, from the wire through the store to the API", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const body = JSON.stringify(cdr(hubjectSessionId)).replace('"ConsumedEnergy":21.343', '"ConsumedEnergy":0.30000000000000004441');
    expect((await postCdr(body)).body.Result).toBe(true);
    expect((await session(id)).chargeDetailRecord.consumedEnergyKwhDecimal).toBe("0.30000000000000004441");
    expect((await gw.gateway.store.get(id))?.chargeDetailRecord?.consumedEnergyKwh).toBe("0.30000000000000004441");
  });

  it("a CDR that lacks what Hubject requires is answered 022, stored raw, counted, and listed", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const answer = await postCdr(without(cdr(hubjectSessionId), "SessionEnd"));
    expect(answer.body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    expect(answer.body.StatusCode.AdditionalInfo).toContain("SessionEnd");
    const rejected = await gw.gateway.store.inboundInState("rejected", 100);
    expect(rejected.find((m) => m.hubjectSessionId === hubjectSessionId)).toMatchObject({ kind: "CDR", state: "rejected" });
    expect(JSON.parse(rejected.find((m) => m.hubjectSessionId === hubjectSessionId)!.text)).toEqual(
      without(cdr(hubjectSessionId), "SessionEnd"),
    );
    expect((await session(id)).status).toBe("CHARGING");
    const metrics = await gw.gateway.metrics!.registry.metrics();
    expect(metrics).toMatch(/gateway_inbound_messages_total\{type="CDR",result="rejected"\} [1-9]/);
  });
});

describe("time", () => {
  it("a time without an offset is UTC, whatever the server's zone, and says so", async () => {
    const zone = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      expect(new Date(2024, 5, 12).getTimezoneOffset()).toBe(240); // the zone did change for this process
      const { id } = await pluggedIn({ ChargingStart: "2024-06-12T18:03:11", SessionStart: "2024-06-12T18:02:41" });
      const shown = await session(id);
      expect(shown.chargingStartedAt).toBe("2024-06-12T18:03:11.000Z");
      expect(shown.chargingStartedAtLocal).toBeNull();
      expect(shown.anomalies).toEqual(expect.arrayContaining([expect.objectContaining({ field: "ChargingStart", kind: "NO_OFFSET" })]));
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it("the charger's offset is kept, so the app can show the local time the charger showed", async () => {
    const { id } = await pluggedIn({ ChargingStart: "2026-12-04T09:00:30+01:00" });
    expect(await session(id)).toMatchObject({
      chargingStartedAt: "2026-12-04T08:00:30.000Z",
      chargingStartedAtLocal: "2026-12-04T09:00:30+01:00",
    });
  });

  it("an impossible date (2024-02-30) is refused where Hubject requires it, and never rolls over", async () => {
    const hubjectSessionId = randomUUID();
    const refused = await postCdr(cdr(hubjectSessionId, { SessionStart: "2024-02-30T10:00:00+01:00" }));
    expect(refused.body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    expect(refused.body.StatusCode.AdditionalInfo).toContain("SessionStart");
    const { id, hubjectSessionId: other } = await pluggedIn();
    expect((await postCdr(cdr(other, { ChargingEnd: "2024-02-30T10:00:00+01:00" }))).body.Result).toBe(true);
    const completed = await session(id);
    expect(completed.chargeDetailRecord.chargingEnd).toBeNull();
    expect(completed.chargeDetailRecord.anomalies).toEqual(expect.arrayContaining([expect.objectContaining({ field: "ChargingEnd" })]));
  });
});

describe("identifiers compared the way OICP defines them", () => {
  it("a CDR whose SessionID is upper case and whose EvseID has no separators completes the same session", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const before = (await sessionsOfAlice()).length;
    const answer = await postCdr(cdr(hubjectSessionId.toUpperCase(), { EvseID: "DESIME00014" }));
    expect(answer.body.Result).toBe(true);
    expect((await session(id)).status).toBe("COMPLETED");
    expect(await sessionsOfAlice()).toHaveLength(before);
  });
});

describe("a CDR must fit its session", () => {
  it("a CDR under another operator, with a foreign EVSE and contract but our SessionID, is flagged; the genuine one applies", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const forged = cdr(hubjectSessionId, {
      EvseID: "DE*EVL*E9999*1",
      Identification: { RemoteIdentification: { EvcoID: "DE-EVL-C99999999-1" } },
      ConsumedEnergy: 555,
      MeterValueStart: 0,
      MeterValueEnd: 555,
    });
    expect((await postCdr(forged, "DE*EVL")).body.Result).toBe(true); // stored and acknowledged, not applied
    expect(await session(id)).toMatchObject({ status: "CHARGING", chargeDetailRecord: null });
    const flagged = (await gw.gateway.store.inboundInState("mismatch", 100)).find((m) => m.hubjectSessionId === hubjectSessionId);
    expect(flagged?.problem).toContain("DE*EVL*E9999*1");

    expect((await postCdr(cdr(hubjectSessionId))).body.Result).toBe(true);
    expect(await session(id)).toMatchObject({ status: "COMPLETED", consumedEnergyKwhDecimal: "21.343" });
  });

  it("a second, different CDR for a session is kept as a conflict, never dropped, and the first stands until an operator chooses", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    expect((await postCdr(cdr(hubjectSessionId))).body.Result).toBe(true);
    expect((await postCdr(cdr(hubjectSessionId, { ConsumedEnergy: 25.1, MeterValueEnd: 1259.667 }))).body.Result).toBe(true);
    const conflict = (await gw.gateway.store.inboundInState("conflict", 100)).find((m) => m.hubjectSessionId === hubjectSessionId);
    expect(conflict).toBeDefined();
    expect(JSON.parse(conflict!.text).ConsumedEnergy).toBe(25.1);
    expect((await session(id)).consumedEnergyKwhDecimal).toBe("21.343");
  });

  it("negative energy, an end before its start and a meter running backwards are flagged and never shown as fact", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const impossible = cdr(hubjectSessionId, {
      ConsumedEnergy: -5,
      SessionEnd: "2026-12-04T07:00:00+01:00",
      MeterValueStart: 1255.91,
      MeterValueEnd: 1234.567,
    });
    expect((await postCdr(impossible)).body.Result).toBe(true);
    const completed = await session(id);
    expect(completed.chargeDetailRecord).toMatchObject({ consumedEnergyKwhDecimal: null, sessionEnd: null });
    expect(completed.consumedEnergyKwhDecimal).not.toBe("-5");
    expect(fieldsFlagged(completed.chargeDetailRecord.anomalies, "IMPLAUSIBLE")).toEqual(
      expect.arrayContaining(["ConsumedEnergy", "SessionEnd", "MeterValueEnd"]),
    );
  });

  it("a Progress dated in the year 9999 is flagged and does not freeze the session's later Progress", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const progress = (eventOccurred: string, energy: number) => ({
      ...start(hubjectSessionId),
      Type: "Progress",
      EventOccurred: eventOccurred,
      ConsumedEnergyProgress: energy,
    });
    expect((await gw.postOicp(NOTIFICATIONS, progress("9999-12-31T23:59:59+01:00", 99))).body.Result).toBe(true);
    const flagged = await session(id);
    expect(flagged.consumedEnergyKwhDecimal).toBeNull();
    expect(flagged.anomalies).toEqual(expect.arrayContaining([expect.objectContaining({ field: "EventOccurred", kind: "IMPLAUSIBLE" })]));
    expect((await gw.postOicp(NOTIFICATIONS, progress(new Date().toISOString(), 3.2))).body.Result).toBe(true);
    expect((await session(id)).consumedEnergyKwhDecimal).toBe("3.2");
  });

  it("a session's energy never goes down on the app", async () => {
    const { id, hubjectSessionId } = await pluggedIn();
    const progress = (eventOccurred: string, energy: number) => ({
      ...start(hubjectSessionId),
      Type: "Progress",
      EventOccurred: eventOccurred,
      ConsumedEnergyProgress: energy,
    });
    await gw.postOicp(NOTIFICATIONS, progress("2026-12-04T09:10:00+01:00", 4.5));
    await gw.postOicp(NOTIFICATIONS, progress("2026-12-04T09:20:00+01:00", 2.1));
    const shown = await session(id);
    expect(shown.consumedEnergyKwhDecimal).toBe("4.5");
    expect(shown.anomalies).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: "ConsumedEnergyProgress", kind: "IMPLAUSIBLE" })]),
    );
  });
});

describe("bodies that cannot be stored", () => {
  let before: string;
  afterEach(async () => {
    // Nothing else changed: the driver's sessions are as they were.
    expect(JSON.stringify(await sessionsOfAlice())).toBe(before);
  });

  it("not JSON, and over the size limit: the OICP error answer and a metric", async () => {
    before = JSON.stringify(await sessionsOfAlice());
    const notJson = await gw.postOicp(cdrPath(), "{ this is not json");
    expect(notJson.body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    const huge = await fetch(`${gw.gateway.oicpUrl}${cdrPath()}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ SessionID: randomUUID(), padding: "x".repeat(1_100_000) }),
    });
    expect([200, 413]).toContain(huge.status);
    const metrics = await gw.gateway.metrics!.registry.metrics();
    expect(metrics).toMatch(/gateway_inbound_messages_total\{type="ChargeDetailRecord",result="unstorable"\} [2-9]/);
  });
});
