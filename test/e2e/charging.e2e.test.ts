// The gateway end to end: GraphQL over HTTP and graphql-ws, the Hubject simulator as a real
// HTTP server, the CPO's notifications and CDR coming back over the OICP listener.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  driver,
  SESSION_UPDATED,
  START,
  STOP,
  startTestGateway,
  subscribed,
  type TestDriver,
  type TestGateway,
} from "../support/gateway.js";

let gw: TestGateway;
let alice: TestDriver;
let bob: TestDriver;
const ALICE_EVCO = "DE-GQL-C00000001-7";

const startCalls = () => gw.gateway.simulator!.callsTo("AuthorizeRemoteStart").length;
const stopCalls = () => gw.gateway.simulator!.callsTo("AuthorizeRemoteStop").length;

async function start(who: TestDriver, input: Record<string, unknown>) {
  const { body } = await gw.graphql(START, { input }, who.token);
  return body;
}

beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("alice", [ALICE_EVCO]);
  bob = await driver("bob", ["DE-GQL-C00000002-5"]);
});

afterAll(async () => {
  await gw?.close();
});

describe("a remote-start session, start to finish", () => {
  it("pushes ACCEPTED → CHARGING → CHARGING_ENDED → COMPLETED with energy figures to the driver's subscription", async () => {
    const [mine, bobs] = await subscribed(
      gw.gateway,
      () => [gw.subscribe(alice.token, SESSION_UPDATED), gw.subscribe(bob.token, SESSION_UPDATED)],
      2,
    );

    const started = await start(alice, { evseId: "DE*SIM*E0001*1", partnerProductId: "AC3" });
    expect(started.errors).toBeUndefined();
    const payload = started.data.startCharging;
    expect(payload.error).toBeNull();
    expect(payload.session).toMatchObject({
      status: "ACCEPTED",
      evseId: "DE*SIM*E0001*1",
      evcoId: ALICE_EVCO,
      lastStatusCode: { code: "000" },
    });
    expect(payload.session.hubjectSessionId).toMatch(/^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$/);
    const id = payload.session.id;

    // The remote start carried our id as EMPPartnerSessionID and no SessionID (docs/oicp.md#remote-start).
    const sent = gw.gateway.simulator!.callsTo("AuthorizeRemoteStart").at(-1)!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ EMPPartnerSessionID: id, EvseID: "DE*SIM*E0001*1", ProviderID: "DE-GQL", PartnerProductID: "AC3" });
    expect(sent).not.toHaveProperty("SessionID");

    const progressed = await mine.waitFor((s) => s.id === id && s.status === "CHARGING" && s.consumedEnergyKwh > 0);
    expect(progressed.chargingStartedAt).not.toBeNull();

    const stopped = await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
    expect(stopped.body.data.stopCharging.error).toBeNull();
    expect(stopped.body.data.stopCharging.session.status).toBe("STOP_REQUESTED");

    const completed = await mine.waitFor((s) => s.id === id && s.status === "COMPLETED");
    expect(completed.consumedEnergyKwh).toBeGreaterThan(0);
    expect(completed.chargeDetailRecord).toMatchObject({ hubjectSessionId: payload.session.hubjectSessionId });
    expect(completed.chargeDetailRecord.consumedEnergyKwh).toBe(completed.consumedEnergyKwh);
    expect(completed.chargingEndedAt).not.toBeNull();
    expect(completed.sessionEndedAt).not.toBeNull();

    // Every change arrived, in order, and the status never went backwards.
    const statuses = mine.events.filter((s) => s.id === id).map((s) => s.status);
    const distinct = statuses.filter((s, i) => s !== statuses[i - 1]);
    expect(distinct).toEqual(["REQUESTED", "ACCEPTED", "CHARGING", "STOP_REQUESTED", "CHARGING_ENDED", "COMPLETED"]);
    const energies = mine.events.filter((s) => s.id === id && s.consumedEnergyKwh !== null).map((s) => s.consumedEnergyKwh);
    expect(energies).toEqual([...energies].sort((a, b) => a - b));
    expect(mine.errors).toEqual([]);

    // Bob's subscription saw none of it.
    expect(bobs.events).toEqual([]);

    // The stored session answers queries the same way.
    const read = await gw.graphql(`query($id: ID!) { chargingSession(id: $id) { id status consumedEnergyKwh } }`, { id }, alice.token);
    expect(read.body.data.chargingSession).toEqual({ id, status: "COMPLETED", consumedEnergyKwh: completed.consumedEnergyKwh });
    await mine.dispose();
    await bobs.dispose();
  });

  it("follows one session by id", async () => {
    const started = await start(alice, { evseId: "DE*SIM*E0001*2" });
    const id = started.data.startCharging.session.id;
    const one = gw.subscribe(alice.token, SESSION_UPDATED, { sessionId: id });
    await one.waitFor((s) => s.status === "CHARGING");
    await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
    await one.waitFor((s) => s.status === "COMPLETED");
    expect(one.events.every((s) => s.id === id)).toBe(true);
    await one.dispose();
  });

  it("marks a session FAILED when the charger reports an error", async () => {
    const started = await start(alice, { evseId: "DE*SIM*E0ERR*1" });
    expect(started.data.startCharging.session.status).toBe("ACCEPTED");
    const watch = gw.subscribe(alice.token, SESSION_UPDATED, { sessionId: started.data.startCharging.session.id });
    const failed = await watch.waitFor((s) => s.status === "FAILED");
    expect(failed.id).toBe(started.data.startCharging.session.id);
    await watch.dispose();
  });

  it("keeps a 310 open as OUTCOME_UNKNOWN and settles it when the charger starts after all", async () => {
    const before = startCalls();
    const started = await start(alice, { evseId: "DE*SIM*E0310*1" });
    const { session, error } = started.data.startCharging;
    expect(session.status).toBe("OUTCOME_UNKNOWN");
    expect(error).toMatchObject({ code: "CHARGER_NOT_RESPONDING", oicpStatusCode: "310", retryable: false });
    const watch = gw.subscribe(alice.token, SESSION_UPDATED, { sessionId: session.id });
    await watch.waitFor((s) => s.status === "CHARGING");
    expect(startCalls()).toBe(before + 1); // never re-sent on its own (docs/oicp.md#lost-answer)
    await gw.graphql(STOP, { input: { sessionId: session.id } }, alice.token);
    await watch.waitFor((s) => s.status === "COMPLETED");
    await watch.dispose();
  });
});

describe("refusals are payload errors", () => {
  const cases: Array<[string, string, string, boolean]> = [
    ["DE*SIM*E9999*1", "EVSE_UNKNOWN", "603", false],
    ["DE*SIM*E0501*1", "EVSE_OFFLINE", "501", true],
    ["DE*SIM*E0602*1", "EVSE_IN_USE", "602", false],
    ["DE*SIM*E0210*1", "NO_VALID_CONTRACT", "210", false],
    ["DE*SIM*E0700*1", "EVSE_OUT_OF_SERVICE", "700", false],
  ];
  for (const [evseId, code, oicp, retryable] of cases) {
    it(`${oicp} → ${code}`, async () => {
      const result = await start(alice, { evseId });
      expect(result.errors).toBeUndefined();
      const { session, error } = result.data.startCharging;
      expect(error).toMatchObject({ code, oicpStatusCode: oicp, retryable });
      expect(error.message.length).toBeGreaterThan(10);
      expect(session).toMatchObject({ status: "REJECTED", lastStatusCode: { code: oicp } });
    });
  }

  it("stopping a finished session says so without calling Hubject", async () => {
    const rejected = await start(alice, { evseId: "DE*SIM*E9999*1" });
    const before = stopCalls();
    const stop = await gw.graphql(STOP, { input: { sessionId: rejected.data.startCharging.session.id } }, alice.token);
    expect(stop.body.data.stopCharging.error).toMatchObject({ code: "SESSION_NOT_ACTIVE", retryable: false });
    expect(stopCalls()).toBe(before);
  });
});

describe("bad input never reaches Hubject", () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["an EvseID that breaks the OICP format", { evseId: "not an evse" }, "BAD_USER_INPUT", /EVSE ID/],
    ["an EvcoID that breaks the OICP format", { evseId: "DE*SIM*E0001*1", evcoId: "XX" }, "BAD_USER_INPUT", /contract ID/],
    ["an EvcoID the driver does not hold", { evseId: "DE*SIM*E0001*1", evcoId: "DE-GQL-C00000002-5" }, "FORBIDDEN", /not one of yours/],
    ["a PartnerProductID over 50 characters", { evseId: "DE*SIM*E0001*1", partnerProductId: "x".repeat(51) }, "BAD_USER_INPUT", /50/],
  ];
  for (const [name, input, code, message] of cases) {
    it(name, async () => {
      const before = startCalls();
      const result = await start(alice, input);
      expect(result.errors?.[0]?.extensions?.code).toBe(code);
      expect(result.errors?.[0]?.message).toMatch(message);
      expect(startCalls()).toBe(before);
    });
  }

  it("asks which contract when the driver holds several", async () => {
    const carol = await driver("carol", ["DE-GQL-C00000003-1", "DE-GQL-C00000004-9"]);
    const before = startCalls();
    const result = await start(carol, { evseId: "DE*SIM*E0001*1" });
    expect(result.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(startCalls()).toBe(before);
  });
});

describe("a driver sees, stops and watches only their own sessions", () => {
  let aliceSession: string;
  beforeAll(async () => {
    const started = await start(alice, { evseId: "DE*SIM*E0001*3" });
    aliceSession = started.data.startCharging.session.id;
  });

  it("another driver cannot read it", async () => {
    const { body } = await gw.graphql(`query($id: ID!) { chargingSession(id: $id) { id evcoId } }`, { id: aliceSession }, bob.token);
    expect(body.errors[0].extensions.code).toBe("FORBIDDEN");
    expect(JSON.stringify(body)).not.toContain(ALICE_EVCO);
    const list = await gw.graphql(`{ chargingSessions(first: 100) { nodes { id } } }`, {}, bob.token);
    expect(list.body.data.chargingSessions.nodes.map((n: { id: string }) => n.id)).not.toContain(aliceSession);
  });

  it("another driver cannot stop it", async () => {
    const before = stopCalls();
    const { body } = await gw.graphql(STOP, { input: { sessionId: aliceSession } }, bob.token);
    expect(body.errors[0].extensions.code).toBe("FORBIDDEN");
    expect(stopCalls()).toBe(before);
  });

  it("another driver cannot subscribe to it", async () => {
    const sub = gw.subscribe(bob.token, SESSION_UPDATED, { sessionId: aliceSession });
    await expect.poll(() => sub.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(sub.errors)).toContain("FORBIDDEN");
    expect(sub.events).toEqual([]);
    await sub.dispose();
  });

  it("an unknown session id is a clear input error", async () => {
    const { body } = await gw.graphql(STOP, { input: { sessionId: "00000000-0000-4000-8000-000000000000" } }, alice.token);
    expect(body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });
});

describe("authentication", () => {
  it("rejects operations without a token as UNAUTHENTICATED", async () => {
    for (const query of [`{ chargingSessions { nodes { id } } }`, `{ evse(id: "DE*SIM*E0001*1") { status } }`]) {
      const { body } = await gw.graphql(query, {}, null);
      expect(body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    }
    const before = startCalls();
    const { body } = await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, null);
    expect(body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(startCalls()).toBe(before);
  });

  it("rejects a forged or expired token with HTTP 401", async () => {
    const { tokenFor } = await import("../support/gateway.js");
    const forged = await tokenFor("alice", [ALICE_EVCO], { secret: "another-secret-another-secret-another-1" });
    const expired = await tokenFor("alice", [ALICE_EVCO], { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    for (const token of [forged, expired, "not.a.jwt"]) {
      const { status, body } = await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, token);
      expect(status).toBe(401);
      expect(body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    }
  });

  it("closes a websocket without a valid token with 4401", async () => {
    const { tokenFor } = await import("../support/gateway.js");
    const expired = await tokenFor("alice", [ALICE_EVCO], { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    for (const token of [null, expired]) {
      const sub = gw.subscribe(token, SESSION_UPDATED);
      expect((await sub.closed)?.code).toBe(4401);
      expect(sub.events).toEqual([]);
    }
  });
});

describe("queries", () => {
  it("pages through the driver's sessions newest first", async () => {
    const dave = await driver("dave", ["DE-GQL-C00000005-3"]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await start(dave, { evseId: "DE*SIM*E9999*1" })).data.startCharging.session.id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const result: any = await gw.graphql(
        `query($after: String) { chargingSessions(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
        dave.token,
      );
      const connection = result.body.data.chargingSessions;
      seen.push(...connection.edges.map((e: any) => e.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const active = await gw.graphql(`{ chargingSessions(active: true) { nodes { id } } }`, {}, dave.token);
    expect(active.body.data.chargingSessions.nodes).toEqual([]);
    const bad = await gw.graphql(`{ chargingSessions(first: 500) { nodes { id } } }`, {}, dave.token);
    expect(bad.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("reads live EVSE status with one upstream call for all EVSEs in a request", async () => {
    const before = gw.gateway.simulator!.callsTo("PullEvseStatusById").length;
    const { body } = await gw.graphql(
      `{ a: evse(id: "DE*SIM*E0001*4") { id status } b: evse(id: "DE*SIM*E0700*1") { status } c: evse(id: "DE*SIM*E4040*1") { status } }`,
      {},
      alice.token,
    );
    expect(body.data).toEqual({
      a: { id: "DE*SIM*E0001*4", status: "AVAILABLE" },
      b: { status: "OUT_OF_SERVICE" },
      c: { status: "NOT_FOUND" },
    });
    const calls = gw.gateway.simulator!.callsTo("PullEvseStatusById");
    expect(calls.length).toBe(before + 1);
    expect((calls.at(-1)!.body as { EvseID: string[] }).EvseID).toHaveLength(3);
  });
});
