// What Hubject sends us, over the real OICP listener: acknowledgements, malformed input,
// duplicates, messages that beat the remote-start answer, unknown fields and explicit nulls.
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { example } from "../support/examples.js";
import { driver, SESSION_UPDATED, START, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";

const NOTIFICATIONS = "/api/oicp/notificationmgmt/v11/charging-notifications";
const CDR_V22 = "/api/oicp/cdrmgmt/v22/operators/DE*SIM/charge-detail-record";
const CDR_V21 = "/api/oicp/cdrmgmt/v21/operators/DE*SIM/charge-detail-record";

let gw: TestGateway;
let alice: TestDriver;

/** Row counts of every table: what "nothing else changed" means. */
function storeSnapshot() {
  const db = new Database(gw.databaseFile, { readonly: true });
  try {
    const count = (table: string) => (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    const versions = db.prepare("select id, version, status from charging_sessions order by id").all();
    return { sessions: count("charging_sessions"), inbound: count("inbound_messages"), versions };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  // A slow CPO, so that a test can post notifications while the remote-start answer is still out.
  gw = await startTestGateway({ pace: { slowAnswerMs: 700, startDelayMs: 60_000 } });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => {
  await gw?.close();
});

describe("malformed messages get 022, are kept for the operator, and change no session", () => {
  const bad: Array<[string, string, unknown]> = [
    ["an unknown Type", NOTIFICATIONS, { ...example("05-notification-start.request"), Type: "Begin" }],
    ["a malformed SessionID", NOTIFICATIONS, { ...example("06-notification-progress.request"), SessionID: "42" }],
    ["a Progress without EventOccurred", NOTIFICATIONS, { ...example("06-notification-progress.request"), EventOccurred: null }],
    ["a CDR without SessionEnd", CDR_V22, { ...example("14-charge-detail-record.request"), SessionEnd: null }],
    ["a CDR with a bad EvseID", CDR_V21, { ...example("14-charge-detail-record.request"), EvseID: "???" }],
    ["a JSON array", CDR_V22, [1, 2]],
  ];
  for (const [name, path, body] of bad) {
    it(name, async () => {
      const before = storeSnapshot();
      const { status, body: ack } = await gw.postOicp(path, body);
      expect(status).toBe(200);
      expect(ack).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
      expect(typeof ack.StatusCode.AdditionalInfo).toBe("string");
      // Stored as received and listed as rejected (npm run -s inbound -- list); no session changed.
      const after = storeSnapshot();
      expect(after).toEqual({ ...before, inbound: before.inbound + 1 });
      const [kept] = await gw.gateway.store.inboundInState("rejected", 1_000).then((rows) => rows.slice(-1));
      expect(kept).toMatchObject({ state: "rejected", problem: ack.StatusCode.AdditionalInfo, text: JSON.stringify(body) });
    });
  }

  it("not JSON: nothing can be kept, and nothing changes", async () => {
    const before = storeSnapshot();
    const { status, body: ack } = await gw.postOicp(NOTIFICATIONS, "{ this is not json");
    expect(status).toBe(200);
    expect(ack).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
    expect(storeSnapshot()).toEqual(before);
  });

  it("answers unknown paths with 404, and not with a crash", async () => {
    const { status } = await gw.postOicp("/api/oicp/charging/v21/operators/DE*SIM/authorize/nope", {});
    expect(status).toBe(404);
  });
});

describe("well-formed messages", () => {
  it("stores a CDR for an unknown session before acknowledging it, and acknowledges its duplicate", async () => {
    const cdr = example("14-charge-detail-record.request");
    const before = storeSnapshot();
    const first = await gw.postOicp(CDR_V22, cdr);
    expect(first.body).toMatchObject({
      Result: true,
      StatusCode: { Code: "000" },
      SessionID: cdr.SessionID,
      EMPPartnerSessionID: cdr.EMPPartnerSessionID,
    });
    expect(storeSnapshot().inbound).toBe(before.inbound + 1);
    const again = await gw.postOicp(CDR_V21, cdr);
    expect(again.body).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    // The copy is kept too, as a duplicate of the first: every body Hubject sent is on record.
    expect(storeSnapshot().inbound).toBe(before.inbound + 2);
    const copy = (await gw.gateway.store.inboundInState("duplicate", 1_000)).at(-1);
    expect(copy).toMatchObject({ state: "duplicate", hubjectSessionId: cdr.SessionID, text: JSON.stringify(cdr) });
  });

  it("accepts a CDR without ConsumedEnergy, as Hubject does, and says the energy is missing", async () => {
    const cdr = { ...example("14-charge-detail-record.request"), SessionID: "bbbbbbbb-1111-2222-3333-cccccccccccc", ConsumedEnergy: null };
    const { body: ack } = await gw.postOicp(CDR_V22, cdr);
    expect(ack).toMatchObject({ Result: true, StatusCode: { Code: "000" }, SessionID: cdr.SessionID });
    const [kept] = (await gw.gateway.store.inboundInState("waiting", 1_000)).filter((m) => m.hubjectSessionId === cdr.SessionID);
    expect(kept?.anomalies).toEqual([expect.objectContaining({ field: "ConsumedEnergy", kind: "MISSING" })]);
  });

  it("applies a Start that arrives before the remote-start answer, and keeps unknown fields and nulls harmless", async () => {
    const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
    const mutation = gw.graphql(START, { input: { evseId: "DE*SIM*E0002*1" } }, alice.token); // slow: answers after 700 ms
    const requested = await watch.waitFor((s) => s.status === "REQUESTED" && s.evseId === "DE*SIM*E0002*1");

    const early = {
      ...example("05-notification-start.request"),
      SessionID: "aaaaaaaa-1111-2222-3333-bbbbbbbbbbbb",
      EMPPartnerSessionID: requested.id,
      EvseID: "DE*SIM*E0002*1",
      Identification: { RemoteIdentification: { EvcoID: alice.evcoIds[0] } },
      CPOPartnerSessionID: null,
      OperatorID: null,
      SessionStart: null,
      AFieldFromTheFuture: { anything: [1, 2, 3] },
    };
    const ack = await gw.postOicp(NOTIFICATIONS, early);
    expect(ack.body).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    const charging = await watch.waitFor((s) => s.id === requested.id && s.status === "CHARGING");
    expect(charging.chargingStartedAt).toBe("2024-06-12T16:03:11.000Z");

    // The remote-start answer arrives later and does not move the session back to ACCEPTED.
    const { body } = await mutation;
    expect(body.data.startCharging.error).toBeNull();
    expect(body.data.startCharging.session.status).toBe("CHARGING");
    const statuses = watch.events.filter((s) => s.id === requested.id).map((s) => s.status);
    expect(statuses).not.toContain("ACCEPTED");

    // A duplicate of the Start is acknowledged, kept as a copy, and changes no session.
    const before = storeSnapshot();
    const duplicate = await gw.postOicp(NOTIFICATIONS, early);
    expect(duplicate.body).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    expect(storeSnapshot()).toEqual({ ...before, inbound: before.inbound + 1 });
    await watch.dispose();
  });

  it("keeps a message whose session is not known yet and applies it when the answer names its SessionID", async () => {
    const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
    // The slow EVSE answers after 700 ms; its SessionID exists at Hubject from the moment it got the request.
    const mutation = gw.graphql(START, { input: { evseId: "DE*SIM*E0002*2" } }, alice.token);
    const requested = await watch.waitFor((s) => s.status === "REQUESTED" && s.evseId === "DE*SIM*E0002*2");
    let hubjectSessionId: string | undefined;
    await expect.poll(() => (hubjectSessionId = gw.gateway.simulator!.hubjectSessionIdFor(requested.id))).toBeDefined();

    // A CPO that copies neither our id nor a contract (RFID card): only the SessionID can link it.
    const progress = {
      ...example("06-notification-progress.request"),
      SessionID: hubjectSessionId,
      EMPPartnerSessionID: null,
      CPOPartnerSessionID: null,
      EvseID: "DE*SIM*E0002*2",
      OperatorID: "DE*SIM",
      Identification: { RFIDMifareFamilyIdentification: { UID: "1234ABCD" } },
    };
    const ack = await gw.postOicp(NOTIFICATIONS, progress);
    expect(ack.body).toMatchObject({ Result: true, StatusCode: { Code: "000" } });
    expect(watch.events.filter((s) => s.id === requested.id).map((s) => s.status)).toEqual(["REQUESTED"]);

    const { body } = await mutation;
    expect(body.data.startCharging.session).toMatchObject({
      id: requested.id,
      hubjectSessionId,
      status: "CHARGING",
      consumedEnergyKwh: 1.826,
    });
    const statuses = watch.events.filter((s) => s.id === requested.id).map((s) => s.status);
    expect(statuses).toEqual(["REQUESTED", "ACCEPTED", "CHARGING"]);
    await watch.dispose();
  });
});
