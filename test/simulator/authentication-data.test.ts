// The simulated Hubject's eRoamingPushAuthenticationData (docs/oicp.md#push-authentication-data)
// over real HTTP: the four actions as Hubject describes them, 019 and validation, and the
// offline authorization the simulated charger flow asks for (authorizeOffline).
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { oicpPaths } from "../../src/oicp/wire/types.js";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { validateOicpRequest } from "../support/openapi.js";

const PROVIDER = "DE-DCB";
const EVCO = "DE-DCB-C12345678-X";
const EVCO_2 = "DE-DCB-C87654321-5";
const silent = createLogger({ level: "silent" });

let sim: HubjectSimulator;
const pushUrl = () => `${sim.url}/${oicpPaths.pushAuthenticationData(PROVIDER)}`;

async function push(ActionType: string, identifications: unknown[], providerId = PROVIDER): Promise<{ status: number; body: any }> {
  const body = {
    ActionType,
    ProviderAuthenticationData: {
      ProviderID: providerId,
      AuthenticationDataRecord: identifications.map((Identification) => ({ Identification })),
    },
  };
  const res = await fetch(pushUrl(), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const mifare = (UID: string) => ({ RFIDMifareFamilyIdentification: { UID } });
const rfid = (UID: string, extra: Record<string, unknown> = {}) => ({
  RFIDIdentification: { UID, RFID: "mifareCls", EvcoID: EVCO, ...extra },
});
const pnc = (EvcoID: string) => ({ PlugAndChargeIdentification: { EvcoID } });

beforeAll(async () => {
  sim = await startSimulator({ providerId: PROVIDER, logger: silent });
});
afterAll(() => sim.close());
beforeEach(() => sim.authenticationData.reset());

describe("eRoamingPushAuthenticationData at the simulated Hubject", () => {
  it("fullLoad replaces the whole set; an empty fullLoad deletes everything", async () => {
    const data = sim.authenticationData;
    expect((await push("fullLoad", [mifare("1234ABCD"), pnc(EVCO)])).body).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    expect(data.size).toBe(2);
    await push("fullLoad", [mifare("7568290FFF765F")]);
    expect(data.identifications()).toEqual([mifare("7568290FFF765F")]);
    await push("fullLoad", []);
    expect(data.size).toBe(0);
    expect(data.calls).toEqual({ fullLoad: 3, insert: 0, update: 0, delete: 0 });
    expect(data.records).toEqual({ fullLoad: 3, insert: 0, update: 0, delete: 0 });
    expect(sim.callsTo("PushAuthenticationData")).toHaveLength(3);
  });

  it("insert fails entirely, inserting nothing, when any record exists; AdditionalInfo names it masked", async () => {
    await push("fullLoad", [mifare("1234ABCD")]);
    const refused = await push("insert", [pnc(EVCO), mifare("1234abcd".toUpperCase())]);
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    expect(refused.body.StatusCode.AdditionalInfo).toContain("…ABCD");
    expect(refused.body.StatusCode.AdditionalInfo).not.toContain("1234ABCD");
    expect(sim.authenticationData.size).toBe(1);
    expect((await push("insert", [pnc(EVCO)])).body.Result).toBe(true);
    expect(sim.authenticationData.size).toBe(2);
    expect(sim.authenticationData.history.map((c) => `${c.action}:${c.code}`)).toEqual(["fullLoad:000", "insert:022", "insert:000"]);
  });

  it("update fails entirely when any record is missing; otherwise replaces the records (an RFID form change included)", async () => {
    await push("fullLoad", [mifare("1234ABCD")]);
    expect((await push("update", [rfid("1234ABCD"), pnc(EVCO)])).body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    expect(sim.authenticationData.identifications()).toEqual([mifare("1234ABCD")]);
    expect((await push("update", [rfid("1234ABCD", { PrintedNumber: "42" })])).body.Result).toBe(true);
    expect(sim.authenticationData.identifications()).toEqual([rfid("1234ABCD", { PrintedNumber: "42" })]);
  });

  it("delete removes the records named; one not held is no error", async () => {
    await push("fullLoad", [mifare("1234ABCD"), pnc(EVCO)]);
    expect((await push("delete", [mifare("1234ABCD"), mifare("99999999")])).body.Result).toBe(true);
    expect(sim.authenticationData.identifications()).toEqual([pnc(EVCO)]);
    expect(sim.authenticationData.records.delete).toBe(2);
  });

  it("refuses the whole upload with 019 when an EvcoID is not of the pushing ProviderID", async () => {
    await push("fullLoad", [mifare("1234ABCD")]);
    const refused = await push("insert", [pnc(EVCO), pnc("DE-XYZ-C12345678-5")]);
    expect(refused.body).toMatchObject({ Result: false, StatusCode: { Code: "019" } });
    expect(refused.body.StatusCode.AdditionalInfo).toContain("DE-XYZ***");
    expect(sim.authenticationData.size).toBe(1);
    // The separators of an EvcoID are optional: DEDCB… is of DE-DCB.
    expect((await push("insert", [pnc("DEDCBC12345678X")])).body.Result).toBe(true);
  });

  it("answers a body that fails validation with Hubject's HTTP 400 (022 to the gateway), a ProviderID not of the certificate with 017", async () => {
    const badUid = await push("fullLoad", [mifare("1234abcd")]);
    expect(badUid.status).toBe(400);
    expect(badUid.body.validationErrors[0].fieldReference).toBe(
      "providerAuthenticationData.authenticationDataRecord[0].identification.rfidMifareFamilyIdentification.uid",
    );
    expect((await push("replace", [mifare("1234ABCD")])).status).toBe(400);
    expect((await push("fullLoad", [{ QRCodeIdentification: { EvcoID: EVCO, PIN: "1".repeat(21) } }])).status).toBe(400);
    // Well-formed but not applicable: both PIN and HashedPIN, or one credential twice.
    const both = await push("fullLoad", [
      { QRCodeIdentification: { EvcoID: EVCO, PIN: "1234", HashedPIN: { Value: "$2b$04$abcdefghijkl", Function: "Bcrypt" } } },
    ]);
    expect(both.body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    expect((await push("fullLoad", [mifare("1234ABCD"), rfid("1234ABCD")])).body.StatusCode.Code).toBe("022");
    expect((await push("fullLoad", [mifare("1234ABCD")], "DE-XYZ")).status).toBe(401);
    expect(sim.authenticationData.size).toBe(0);
    expect(sim.authenticationData.calls.fullLoad).toBe(2);
    expect(sim.authenticationData.invalid).toHaveLength(3);
  });

  it("the test bodies are what Hubject's OpenAPI accepts", () => {
    const body = {
      ActionType: "insert",
      ProviderAuthenticationData: { ProviderID: PROVIDER, AuthenticationDataRecord: [{ Identification: rfid("1234ABCD") }] },
    };
    expect(validateOicpRequest("eRoamingPushAuthenticationData", body)).toEqual({ valid: true, errors: [] });
    expect(validateOicpRequest("eRoamingPushAuthenticationData", { ...body, ActionType: "replace" }).valid).toBe(false);
  });
});

describe("authorizeOffline: what the pushed data authorizes", () => {
  it("RFID cards by UID, case-insensitively; an RFIDIdentification gives its EvcoID and its expiry counts", async () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    await push("fullLoad", [mifare("1234ABCD"), rfid("7568290FFF765F"), rfid("11112222", { ExpiryDate: past })]);
    const data = sim.authenticationData;
    expect(await data.authorizeOffline(mifare("1234abcd"))).toEqual({ authorized: true, evcoId: null, statusCode: "000" });
    expect(await data.authorizeOffline(mifare("7568290fff765f"))).toEqual({ authorized: true, evcoId: EVCO, statusCode: "000" });
    expect(await data.authorizeOffline(mifare("11112222"))).toEqual({ authorized: false, evcoId: null, statusCode: "102" });
    expect(await data.authorizeOffline(mifare("DEADBEEF"))).toEqual({ authorized: false, evcoId: null, statusCode: "102" });
    await push("delete", [mifare("1234ABCD")]);
    expect((await data.authorizeOffline(mifare("1234ABCD"))).authorized).toBe(false);
  });

  it("QR codes by EvcoID and a clear PIN checked against the pushed HashedPIN (or a PIN pushed in clear)", async () => {
    const hash = await bcrypt.hash("7Q4xZ9", 4);
    await push("fullLoad", [
      { QRCodeIdentification: { EvcoID: EVCO, HashedPIN: { Value: hash, Function: "Bcrypt" } } },
      { QRCodeIdentification: { EvcoID: EVCO_2, PIN: "5555" } },
    ]);
    const data = sim.authenticationData;
    // Hubject keeps only hashes, even of a PIN pushed in clear.
    expect(JSON.stringify(data.identifications())).not.toContain('"PIN"');
    expect(await data.authorizeOffline({ QRCodeIdentification: { EvcoID: "de-dcb-c12345678-x", PIN: "7Q4xZ9" } })).toEqual({
      authorized: true,
      evcoId: EVCO,
      statusCode: "000",
    });
    expect(await data.authorizeOffline({ QRCodeIdentification: { EvcoID: EVCO, PIN: "0000" } })).toMatchObject({
      authorized: false,
      statusCode: "101",
    });
    expect(await data.authorizeOffline({ QRCodeIdentification: { EvcoID: EVCO_2, PIN: "5555" } })).toMatchObject({
      authorized: true,
      evcoId: EVCO_2,
    });
    expect(await data.authorizeOffline({ QRCodeIdentification: { EvcoID: "DE-DCB-C00000000-1", PIN: "5555" } })).toMatchObject({
      authorized: false,
      statusCode: "101",
    });
  });

  it("Plug&Charge by EvcoID; anything unreadable is refused", async () => {
    await push("fullLoad", [pnc(EVCO)]);
    const data = sim.authenticationData;
    expect(await data.authorizeOffline(pnc("DE*DCB*C12345678*X"))).toEqual({ authorized: true, evcoId: EVCO, statusCode: "000" });
    expect(await data.authorizeOffline(pnc(EVCO_2))).toEqual({ authorized: false, evcoId: null, statusCode: "105" });
    expect(await data.authorizeOffline({ Unknown: {} })).toMatchObject({ authorized: false, statusCode: "022" });
    expect(await data.authorizeOffline(null)).toMatchObject({ authorized: false });
  });
});
