// Authorization at the charger, over the real OICP listener and the simulator's charger
// (docs/oicp.md#authorize-start): the EMP's cards, QR codes and cars are authorized and their
// sessions reach the driver at once; everything else is refused with the right code and creates
// nothing; a malformed request gets NotAuthorized 022. Every answer is checked against Hubject's OAS.
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdentificationInput } from "../../src/identifications/identification.js";
import { createLogger } from "../../src/logger.js";
import { driver, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";
import { validateOicpSchema } from "../support/openapi.js";
import { eventually } from "../support/wait.js";

const START = "/api/oicp/charging/v21/operators/DE*SIM/authorize/start";
const STOP = "/api/oicp/charging/v21/operators/DE*SIM/authorize/stop";
const ALICE_EVCO = "DE-GQL-C00000001-7";
const BOB_EVCO = "DE-GQL-C00000002-5";
const ALICE_CARD = "04A1B2C3D4E5F6";
const BOB_CARD = "04B0B0B0B0B0B0";
const UPDATES = `subscription { sessionUpdated { id hubjectSessionId evseId status origin } }`;

let gw: TestGateway;
let alice: TestDriver;
const logLines: string[] = [];

function register(input: Partial<IdentificationInput> & Pick<IdentificationInput, "type">) {
  return gw.gateway.identifications.register([{ driverId: "alice", evcoId: ALICE_EVCO, ...input }]).then(([outcome]) => {
    if (!outcome?.ok) throw new Error(`registration refused: ${JSON.stringify(outcome)}`);
    return outcome.identification;
  });
}

function sessionCount(): number {
  const db = new Database(gw.databaseFile, { readonly: true });
  try {
    return (db.prepare("select count(*) as n from charging_sessions").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function authorizeStart(identification: unknown, overrides: Record<string, unknown> = {}) {
  const body = { SessionID: randomUUID(), OperatorID: "DE*SIM", EvseID: "DE*SIM*E0001*3", Identification: identification, ...overrides };
  expect(validateOicpSchema("eRoamingAuthorizeStart", body).errors).toEqual([]);
  return gw.postOicp(START, body);
}

function expectAnswer(schema: "eRoamingAuthorizationStart" | "eRoamingAuthorizationStop", answer: unknown) {
  expect(validateOicpSchema(schema, answer).errors).toEqual([]);
}

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  gw = await startTestGateway({ overrides: { logger: createLogger({ level: "debug", destination: sink }) } });
  alice = await driver("alice", [ALICE_EVCO]);
  await gw.gateway.identifications.register([{ driverId: "bob", evcoId: BOB_EVCO, type: "RFID_MIFARE_FAMILY", uid: BOB_CARD }]);
});

afterAll(async () => {
  await gw?.close();
});

describe("a card of ours at a charger", () => {
  it("is authorized, and its session reaches the driver's subscription at once and runs to its CDR", async () => {
    const card = await register({ type: "RFID_MIFARE_FAMILY", uid: ALICE_CARD });
    const updates = await subscribed(gw.gateway, () => gw.subscribe(alice.token, UPDATES));
    // The charger reads the UID in lower case: Hubject and we compare it without case.
    const tap = await gw.gateway.simulator!.tapCard("DE*SIM*E0001*1", {
      RFIDMifareFamilyIdentification: { UID: ALICE_CARD.toLowerCase() },
    });
    expect(tap).toMatchObject({ action: "start", authorized: true, decidedBy: "online", statusCode: { Code: "000" } });
    expectAnswer("eRoamingAuthorizationStart", tap.answer);
    expect(tap.answer).toMatchObject({
      SessionID: tap.sessionId,
      ProviderID: "DE-GQL",
      AuthorizationStatus: "Authorized",
      AuthorizationStopIdentifications: [{ RFIDMifareFamilyIdentification: { UID: ALICE_CARD } }],
    });
    const sessionId = (tap.answer as { EMPPartnerSessionID: string }).EMPPartnerSessionID;
    const first = await updates.waitFor((s) => s.id === sessionId);
    expect(first).toMatchObject({ hubjectSessionId: tap.sessionId, evseId: "DE*SIM*E0001*1", origin: "CHARGER", status: "ACCEPTED" });
    await updates.waitFor((s) => s.id === sessionId && s.status === "CHARGING");
    const stored = await gw.gateway.store.get(sessionId);
    expect(stored).toMatchObject({ driverId: "alice", evcoId: ALICE_EVCO, identificationId: card.id });

    // The same card at the same charger stops it (AuthorizeStop), recorded on the session.
    const stop = await gw.gateway.simulator!.tapCard("DE*SIM*E0001*1", { RFIDMifareFamilyIdentification: { UID: ALICE_CARD } });
    expect(stop).toMatchObject({ action: "stop", authorized: true, decidedBy: "online" });
    expectAnswer("eRoamingAuthorizationStop", stop.answer);
    await updates.waitFor((s) => s.id === sessionId && s.status === "COMPLETED");
    expect(await gw.gateway.store.get(sessionId)).toMatchObject({ stopIdentificationId: card.id, status: "COMPLETED" });
    await updates.dispose();
  });

  it("a repeated AuthorizeStart for one SessionID answers the same session and creates no second one", async () => {
    await register({ type: "RFID_MIFARE_FAMILY", uid: "0AA1B2C3D4E5F6" });
    const body = {
      SessionID: randomUUID(),
      OperatorID: "DE*SIM",
      EvseID: "DE*SIM*E0001*4",
      Identification: { RFIDMifareFamilyIdentification: { UID: "0AA1B2C3D4E5F6" } },
    };
    const before = sessionCount();
    const [a, b] = await Promise.all([gw.postOicp(START, body), gw.postOicp(START, body)]);
    expect(a.body.AuthorizationStatus).toBe("Authorized");
    expect(b.body.EMPPartnerSessionID).toBe(a.body.EMPPartnerSessionID);
    expect(sessionCount()).toBe(before + 1);
  });

  it("a QR code with its PIN is authorized; with another PIN it is refused (101) and the PIN is logged nowhere", async () => {
    await register({ type: "QR_CODE", evcoId: "DE-GQL-C00000009-1", pin: "7391-secret" });
    const ok = await authorizeStart({ QRCodeIdentification: { EvcoID: "DE-GQL-C00000009-1", PIN: "7391-secret" } });
    expect(ok.body).toMatchObject({ AuthorizationStatus: "Authorized", StatusCode: { Code: "000" } });
    expectAnswer("eRoamingAuthorizationStart", ok.body);
    // Our PIN hash never goes to the CPO: a QR code is not in the stop list.
    expect(JSON.stringify(ok.body)).not.toContain("$2");
    const before = sessionCount();
    const wrong = await authorizeStart({ QRCodeIdentification: { EvcoID: "DE-GQL-C00000009-1", PIN: "0000-wrong" } });
    expect(wrong.body).toMatchObject({ AuthorizationStatus: "NotAuthorized", StatusCode: { Code: "101" } });
    expectAnswer("eRoamingAuthorizationStart", wrong.body);
    expect(sessionCount()).toBe(before);
    expect(logLines.join("")).not.toContain("7391-secret");
    expect(logLines.join("")).not.toContain("0000-wrong");
  });

  it("a car of ours (Plug&Charge) is authorized", async () => {
    await register({ type: "PLUG_AND_CHARGE", evcoId: "DE-GQL-C00000008-3" });
    const { body } = await authorizeStart({ PlugAndChargeIdentification: { EvcoID: "DEGQLC000000083" } }, { EvseID: "DE*SIM*E0001*2" });
    expect(body).toMatchObject({
      AuthorizationStatus: "Authorized",
      AuthorizationStopIdentifications: [{ PlugAndChargeIdentification: { EvcoID: "DE-GQL-C00000008-3" } }],
    });
    expectAnswer("eRoamingAuthorizationStart", body);
  });
});

describe("what is not ours, or may not charge, is refused with its code and creates nothing", () => {
  const cases: Array<[string, () => Promise<unknown>, unknown, string]> = [
    ["another EMP's card (the broadcast)", async () => undefined, { RFIDMifareFamilyIdentification: { UID: "DEADBEEF" } }, "102"],
    ["an unknown QR code", async () => undefined, { QRCodeIdentification: { EvcoID: "DE-GQL-C00000077-4", PIN: "1234" } }, "101"],
    ["an unknown car", async () => undefined, { PlugAndChargeIdentification: { EvcoID: "DE-GQL-C00000078-2" } }, "120"],
    [
      "a RemoteIdentification (app starts never come this way)",
      async () => undefined,
      { RemoteIdentification: { EvcoID: ALICE_EVCO } },
      "106",
    ],
    [
      "a blocked card",
      () =>
        register({ type: "RFID_MIFARE_FAMILY", uid: "0BB1B2C3" }).then((c) =>
          gw.gateway.identifications.block(c.id, { driverId: "alice", role: "DRIVER" }),
        ),
      { RFIDMifareFamilyIdentification: { UID: "0BB1B2C3" } },
      "200",
    ],
    [
      "an expired card",
      () => register({ type: "RFID", uid: "0CC1B2C3", rfidType: "mifareDes", expiresAt: new Date(Date.now() - 60_000) }),
      { RFIDMifareFamilyIdentification: { UID: "0CC1B2C3" } },
      "210",
    ],
  ];
  for (const [name, arrange, identification, code] of cases) {
    it(name, async () => {
      await arrange();
      const before = sessionCount();
      const deliveries = gw.gateway.simulator!.deliveries.length;
      const { status, body } = await authorizeStart(identification);
      expect(status).toBe(200);
      expect(body).toMatchObject({ AuthorizationStatus: "NotAuthorized", StatusCode: { Code: code } });
      expect(body.ProviderID).toBeUndefined();
      expectAnswer("eRoamingAuthorizationStart", body);
      expect(sessionCount()).toBe(before);
      expect(gw.gateway.simulator!.deliveries.length).toBe(deliveries);
    });
  }

  it("each refusal is counted by its reason (gateway_authorizations_total)", async () => {
    const text = await gw.gateway.metrics!.registry.metrics();
    for (const result of ["UNKNOWN", "BLOCKED", "EXPIRED", "NOT_FOR_CHARGERS"]) {
      expect(text).toMatch(new RegExp(`gateway_authorizations_total\\{operation="start",result="${result}"\\} [1-9]`));
    }
  });

  it("a card the driver blocks during a session: the session goes on, the next tap is refused (200)", async () => {
    const card = await register({ type: "RFID_MIFARE_FAMILY", uid: "0DD1B2C3D4E5F6A7B8C9" });
    const updates = await subscribed(gw.gateway, () => gw.subscribe(alice.token, UPDATES));
    const tap = await gw.gateway.simulator!.tapCard("DE*SIM*E0001*2", { RFIDMifareFamilyIdentification: { UID: "0DD1B2C3D4E5F6A7B8C9" } });
    expect(tap.authorized).toBe(true);
    const sessionId = (tap.answer as { EMPPartnerSessionID: string }).EMPPartnerSessionID;
    await updates.waitFor((s) => s.id === sessionId && s.status === "CHARGING");
    // The card is lost: the driver blocks it (on this replica's registry; every replica drops its cache).
    await gw.gateway.identifications.block(card.id, { driverId: "alice", role: "DRIVER" });
    const again = await gw.gateway.simulator!.tapCard("DE*SIM*E0001*3", {
      RFIDMifareFamilyIdentification: { UID: "0DD1B2C3D4E5F6A7B8C9" },
    });
    expect(again).toMatchObject({ authorized: false, statusCode: { Code: "200" } });
    expect(sessionCount()).toBeGreaterThan(0);
    // It cannot stop the running session either; the app still can.
    const stop = await gw.gateway.simulator!.tapCard("DE*SIM*E0001*2", { RFIDMifareFamilyIdentification: { UID: "0DD1B2C3D4E5F6A7B8C9" } });
    expect(stop).toMatchObject({ action: "stop", authorized: false, statusCode: { Code: "200" } });
    expect((await gw.gateway.store.get(sessionId))?.status).toBe("CHARGING");
    await updates.dispose();
  });
});

describe("stop authorization", () => {
  it("someone else's card may not stop a session; an unknown SessionID is 400", async () => {
    await register({ type: "RFID_MIFARE_FAMILY", uid: "0EE1B2C3D4E5F6" });
    const started = await authorizeStart({ RFIDMifareFamilyIdentification: { UID: "0EE1B2C3D4E5F6" } }, { EvseID: "DE*SIM*E0002*1" });
    const sessionId = started.body.SessionID as string;
    const byBob = { SessionID: sessionId, OperatorID: "DE*SIM", Identification: { RFIDMifareFamilyIdentification: { UID: BOB_CARD } } };
    expect(validateOicpSchema("eRoamingAuthorizeStop", byBob).errors).toEqual([]);
    const refused = await gw.postOicp(STOP, byBob);
    expect(refused.body).toMatchObject({ SessionID: sessionId, AuthorizationStatus: "NotAuthorized", StatusCode: { Code: "106" } });
    expectAnswer("eRoamingAuthorizationStop", refused.body);
    expect((await gw.gateway.store.findByHubjectSessionId(sessionId))?.stopIdentificationId).toBeNull();

    const unknown = await gw.postOicp(STOP, { ...byBob, SessionID: randomUUID() });
    expect(unknown.body).toMatchObject({ AuthorizationStatus: "NotAuthorized", StatusCode: { Code: "400" } });
    expectAnswer("eRoamingAuthorizationStop", unknown.body);
  });
});

describe("malformed requests get NotAuthorized with 022, never a 404 or a 500, and change nothing", () => {
  const bad: Array<[string, string, unknown]> = [
    ["no Identification", START, { OperatorID: "DE*SIM", EvseID: "DE*SIM*E0001*1" }],
    [
      "a UID that fails OICP's pattern",
      START,
      { OperatorID: "DE*SIM", Identification: { RFIDMifareFamilyIdentification: { UID: "04A1-B2C3-D4E5-F6XYZ" } } },
    ],
    [
      "an identification type OICP does not define",
      START,
      { OperatorID: "DE*SIM", Identification: { FaceIdentification: { Smile: true } } },
    ],
    ["no OperatorID", START, { Identification: { RFIDMifareFamilyIdentification: { UID: ALICE_CARD } } }],
    ["a stop without SessionID", STOP, { OperatorID: "DE*SIM", Identification: { RFIDMifareFamilyIdentification: { UID: ALICE_CARD } } }],
    ["not JSON", START, "{ not json"],
    ["not JSON (stop)", STOP, "]["],
  ];
  for (const [name, path, body] of bad) {
    it(name, async () => {
      const before = sessionCount();
      const { status, body: answer } = await gw.postOicp(path, body);
      expect(status).toBe(200);
      expect(answer).toMatchObject({ AuthorizationStatus: "NotAuthorized", StatusCode: { Code: "022" } });
      expectAnswer(path === START ? "eRoamingAuthorizationStart" : "eRoamingAuthorizationStop", answer);
      expect(sessionCount()).toBe(before);
    });
  }

  it("logs a refused request without the UID in full", async () => {
    const uid = "04C0FFEE123456";
    await authorizeStart({ RFIDMifareFamilyIdentification: { UID: uid } });
    await gw.postOicp(START, { OperatorID: "DE*SIM", Identification: { RFIDMifareFamilyIdentification: { UID: `${uid}ZZ` } } });
    await eventually(() => logLines.some((line) => line.includes("authorize start: not ours")), "the refusal in the log");
    expect(logLines.join("")).not.toContain(uid);
  });
});

describe("a session Hubject authorized without asking us (offline)", () => {
  it("reaches the card's driver with the first message that names the card", async () => {
    const card = await register({ type: "RFID_MIFARE_FAMILY", uid: "0FF1B2C3D4E5F6" });
    const updates = await subscribed(gw.gateway, () => gw.subscribe(alice.token, UPDATES));
    const hubjectSessionId = randomUUID();
    const now = new Date().toISOString();
    const { body } = await gw.postOicp("/api/oicp/notificationmgmt/v11/charging-notifications", {
      Type: "Start",
      SessionID: hubjectSessionId,
      EvseID: "DE*SIM*E0001*4",
      OperatorID: "DE*SIM",
      Identification: { RFIDMifareFamilyIdentification: { UID: "0ff1b2c3d4e5f6" } },
      SessionStart: now,
      ChargingStart: now,
    });
    expect(body.Result).toBe(true);
    // Created (ACCEPTED) for the card's driver, then the Start applied to it.
    const session = await updates.waitFor((s) => s.hubjectSessionId === hubjectSessionId && s.status === "CHARGING");
    expect(session).toMatchObject({ origin: "CHARGER", evseId: "DE*SIM*E0001*4" });
    expect(await gw.gateway.store.get(session.id)).toMatchObject({ driverId: "alice", evcoId: ALICE_EVCO, identificationId: card.id });
    await updates.dispose();
  });
});

describe("offline: Hubject authorizes from what the gateway pushed, and the session still reaches the driver", () => {
  it("a pushed card is authorized at the charger without asking the gateway; its session appears for its driver", async () => {
    const offline = await startTestGateway({ env: { HUBJECT_AUTHORIZATION_MODE: "both", IDENTIFICATION_PUSH_INTERVAL_MS: "0" } });
    try {
      const [registered] = await offline.gateway.identifications.register([
        { driverId: "carol", evcoId: "DE-GQL-C00000005-0", type: "RFID", uid: "0A0B0C0D0E0F10", rfidType: "mifareDes" },
      ]);
      expect(registered?.ok).toBe(true);
      await offline.gateway.identificationPush!.fullLoad();
      const simulator = offline.gateway.simulator!;
      expect(simulator.authenticationData.calls.fullLoad).toBe(1);
      const carol = await driver("carol", []);
      const updates = await subscribed(offline.gateway, () => offline.subscribe(carol.token, UPDATES));
      const tap = await simulator.tapCard("DE*SIM*E0001*1", { RFIDMifareFamilyIdentification: { UID: "0A0B0C0D0E0F10" } });
      expect(tap).toMatchObject({ authorized: true, decidedBy: "offline" });
      const session = await updates.waitFor((s) => s.hubjectSessionId === tap.sessionId && s.status === "CHARGING");
      expect(session).toMatchObject({ origin: "CHARGER", evseId: "DE*SIM*E0001*1" });
      // Decided from the pushed data: the gateway was not asked (no answer recorded).
      expect(tap.answer).toBeNull();
      // Only the same medium stops an offline session, at the charger, without asking anyone.
      const stop = await simulator.tapCard("DE*SIM*E0001*1", { RFIDMifareFamilyIdentification: { UID: "0a0b0c0d0e0f10" } });
      expect(stop).toMatchObject({ action: "stop", authorized: true, decidedBy: "offline" });
      await updates.waitFor((s) => s.id === session.id && s.status === "COMPLETED");
      await updates.dispose();
    } finally {
      await offline.close();
    }
  });
});
