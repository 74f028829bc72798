// Unknown outcomes settle on evidence, over real sockets against the simulated Hubject: an EVSE
// reported Occupied never makes an unconfirmed start CHARGING (someone else's car may be there);
// a stop Hubject refuses because it no longer knows the session settles instead of hanging, also
// after a restart in development, when the embedded simulator has forgotten its sessions.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
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
import { eventually } from "../support/wait.js";

const ALICE_EVCO = "DE-GQL-C00000001-7";
const EVSE = "DE*SIM*E0001*3";
let gw: TestGateway | undefined;
let alice: TestDriver;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const sim = () => gw!.gateway.simulator!;
const calls = (operation: Parameters<ReturnType<typeof sim>["callsTo"]>[0]) => sim().callsTo(operation).length;
const stored = async (id: string) => (await gw!.gateway.store.get(id))!;
const minutes = (n: number) => new Date(Date.now() + n * 60_000);

describe("an unconfirmed start", () => {
  it("310, then the EVSE reports Occupied: the session stays unconfirmed, and after the give-up time it ends saying so", async () => {
    gw = await startTestGateway({ env: { MUTATION_WAIT_MS: "2000" } });
    alice = await driver("alice", [ALICE_EVCO]);
    // The CPO does start (it answered Hubject too late), but no message naming our session ever comes.
    sim().setCpoFaults({ suppressNotifications: true, suppressCdrDelivery: true });
    sim().failNext("AuthorizeRemoteStart", { kind: "status-code", code: "310", forwarded: true });
    const watch = await subscribed(gw.gateway, () => gw!.subscribe(alice.token, SESSION_UPDATED));
    const { body } = await gw.graphql(START, { input: { evseId: EVSE } }, alice.token);
    const id = body.data.startCharging.session.id as string;
    expect(body.data.startCharging).toMatchObject({ session: { status: "OUTCOME_UNKNOWN" }, error: { code: "CHARGER_NOT_RESPONDING" } });
    const status = await gw.graphql(`{ evse(id: "${EVSE}") { status } }`, {}, alice.token);
    expect(status.body.data.evse.status).toBe("OCCUPIED");

    // Within the give-up time: nothing settles it, however often the reconciler runs.
    for (const at of [minutes(1), minutes(5), minutes(9)]) await gw.gateway.reconciler.run(at);
    expect((await stored(id)).status).toBe("OUTCOME_UNKNOWN");
    expect(watch.events.filter((s) => s.id === id).map((s) => s.status)).not.toContain("CHARGING");

    // After it: Hubject's CDRs are looked up (none yet), then the session ends, saying what was seen.
    const cdrLookups = calls("GetChargeDetailRecords");
    const report = await gw.gateway.reconciler.run(minutes(11));
    expect(report.settled).toBe(1);
    expect(calls("GetChargeDetailRecords")).toBe(cdrLookups + 1);
    const ended = await watch.waitFor((s) => s.id === id && s.status === "REJECTED");
    expect(ended.figuresSource).toBe("INFERRED");
    expect((await stored(id)).errorInfo).toBe("Not confirmed: the charging point is in use, but nothing showed it is this session.");
    expect(calls("AuthorizeRemoteStart")).toBe(1);
  });

  it("310, and the CPO's Start notification arrives: that names the session, and it is CHARGING", async () => {
    gw = await startTestGateway({ env: { MUTATION_WAIT_MS: "2000" } });
    alice = await driver("alice", [ALICE_EVCO]);
    sim().failNext("AuthorizeRemoteStart", { kind: "status-code", code: "310", forwarded: true });
    const watch = await subscribed(gw.gateway, () => gw!.subscribe(alice.token, SESSION_UPDATED));
    const { body } = await gw.graphql(START, { input: { evseId: EVSE } }, alice.token);
    const id = body.data.startCharging.session.id as string;
    await watch.waitFor((s) => s.id === id && s.status === "CHARGING");
  });
});

describe("a stop Hubject answers with 400 Session is invalid", () => {
  it("is looked up and settled: the session ends, with a message, and never hangs in STOP_REQUESTED", async () => {
    gw = await startTestGateway();
    alice = await driver("alice", [ALICE_EVCO]);
    const watch = await subscribed(gw.gateway, () => gw!.subscribe(alice.token, SESSION_UPDATED));
    const { body } = await gw.graphql(START, { input: { evseId: EVSE } }, alice.token);
    const id = body.data.startCharging.session.id as string;
    await watch.waitFor((s) => s.id === id && s.status === "CHARGING");

    sim().failNext("AuthorizeRemoteStop", { kind: "status-code", code: "400", forwarded: false });
    const stopped = await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
    expect(stopped.body.data.stopCharging.error).toBeNull();
    expect(stopped.body.data.stopCharging.session.status).toBe("CHARGING_ENDED");
    expect((await stored(id)).errorInfo).toMatch(/no longer knows this session: it has ended/);
    expect(calls("AuthorizeRemoteStop")).toBe(1);
    expect(calls("GetChargeDetailRecords")).toBe(1); // its CDR was looked for first
  });

  it("after a restart in development (the simulator forgot its sessions), the stop still settles", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "emp-restart-"));
    try {
      gw = await startTestGateway({ dataDir });
      alice = await driver("alice", [ALICE_EVCO]);
      const { body } = await gw.graphql(START, { input: { evseId: EVSE } }, alice.token);
      const id = body.data.startCharging.session.id as string;
      await eventually(async () => (await stored(id)).status === "CHARGING", "the session to charge");

      await gw.close();
      gw = await startTestGateway({ dataDir });
      const stopped = await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
      expect(stopped.body.data.stopCharging).toMatchObject({ error: null, session: { status: "CHARGING_ENDED" } });
      expect(calls("AuthorizeRemoteStop")).toBe(1);
    } finally {
      await gw?.close();
      gw = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
