// Offline authorization end to end: the registry's identifications pushed by IdentificationPusher
// through the real Hubject datasource to the real simulator (real sockets), on a SQLite file and
// on a PostgreSQL schema of their own. Counted at the simulator; every body validated against
// Hubject's OpenAPI; time is a controlled clock (the 50 calls/min budget waits on it).
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HubjectDatasource } from "../../src/datasources/hubject.datasource.js";
import type { IdentificationInput } from "../../src/identifications/identification.js";
import { type AuthenticationDataPush, IdentificationPusher } from "../../src/identifications/push.js";
import { IdentificationRegistry } from "../../src/identifications/registry.js";
import { createLogger } from "../../src/logger.js";
import { GatewayMetrics, identificationPushMetrics } from "../../src/observability/metrics.js";
import { createInProcessRegistryChanges } from "../../src/pubsub/registry-changes.js";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { createTestSchema, postgresAvailable } from "../store/pg-support.js";
import { startTestGateway } from "../support/gateway.js";
import { oicpRequestPath, validateOicpRequest } from "../support/openapi.js";

await postgresAvailable();
const PROVIDER = "DE-DCB";
const PIN = "7Q4xZ9";
const START = Date.parse("2030-06-01T08:00:00Z");

interface World {
  sim: HubjectSimulator;
  store: SqlSessionStore;
  registry: IdentificationRegistry;
  pusher: IdentificationPusher;
  metrics: GatewayMetrics;
  /** The controlled clock: now, and what a wait moved it by. */
  clock: { ms: number; advance(ms: number): void };
  /** Controlled-clock instants of every push the pusher made. */
  callTimes: number[];
  logs: string[];
  /** Push bodies as the simulator received them. */
  bodies(): any[];
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function world(engine: "sqlite" | "postgres", options: { batchSize?: number; callsPerMinute?: number } = {}): Promise<World> {
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(line) } });
  const sim = await startSimulator({ providerId: PROVIDER, logger: createLogger({ level: "silent" }) });
  cleanups.push(() => sim.close());
  let url: string;
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "identification-push-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    url = join(dir, "gateway.db");
  } else {
    const schema = await createTestSchema();
    cleanups.push(() => schema.drop());
    url = schema.url;
  }
  const store = openSqlStore({ url, logger: createLogger({ level: "silent" }) });
  cleanups.push(() => store.close());
  await store.migrate();
  const hubject = new HubjectDatasource({ baseUrl: sim.url, providerId: PROVIDER, logger: createLogger({ level: "silent" }) });
  cleanups.push(() => hubject.close());

  const clock = {
    ms: START,
    advance(ms: number) {
      clock.ms += ms;
    },
  };
  const now = { now: () => new Date(clock.ms) };
  const changes = createInProcessRegistryChanges();
  cleanups.push(() => changes.close());
  const registry = new IdentificationRegistry({
    store: store.identifications,
    changes,
    clock: now,
    logger,
    pinHashCost: 4,
    cache: { maxEntries: 100, ttlMs: 1_000 },
  });
  cleanups.push(() => registry.close());
  const callTimes: number[] = [];
  const recorded: AuthenticationDataPush = {
    providerId: hubject.providerId,
    pushAuthenticationData: (action, records) => {
      callTimes.push(clock.ms);
      return hubject.pushAuthenticationData(action, records);
    },
  };
  const metrics = new GatewayMetrics();
  const pusher = new IdentificationPusher({
    store: store.identifications,
    hubject: recorded,
    clock: now,
    // The controlled clock: a wait for the rate limit moves time on at once.
    sleep: async (ms) => clock.advance(ms),
    logger,
    metrics: identificationPushMetrics(metrics),
    batchSize: options.batchSize ?? 1_000,
    callsPerMinute: options.callsPerMinute ?? 50,
  });
  cleanups.push(() => pusher.close());
  const bodies = () => sim.callsTo("PushAuthenticationData").map((call) => call.body);
  return { sim, store, registry, pusher, metrics, clock, callTimes, logs, bodies };
}

async function register(w: World, inputs: IdentificationInput[]) {
  const outcomes = await w.registry.register(inputs);
  return outcomes.map((o) => {
    if (!o.ok) throw new Error(o.problems.join("; "));
    return o.identification;
  });
}

const card = (n: number, extra: Partial<IdentificationInput> = {}): IdentificationInput => ({
  driverId: `driver-${n}`,
  evcoId: `DE-DCB-C${String(n).padStart(8, "0")}-X`,
  type: "RFID_MIFARE_FAMILY",
  uid: (0xa0000000 + n).toString(16).toUpperCase(),
  ...extra,
});

const held = (w: World) => w.sim.authenticationData;
const sequence = (w: World) => held(w).history.map((c) => `${c.action}:${c.records}:${c.code}`);

/** Every body the simulator received is what Hubject's OpenAPI accepts, on the OpenAPI's path. */
function expectValidBodies(w: World) {
  const calls = w.sim.callsTo("PushAuthenticationData");
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(call.path).toBe(oicpRequestPath("eRoamingPushAuthenticationData", PROVIDER));
    expect(validateOicpRequest("eRoamingPushAuthenticationData", call.body)).toEqual({ valid: true, errors: [] });
  }
}

/** PINs, hashes and full UIDs never reach a log. */
function expectNoSecretsIn(logs: string[], uids: string[]) {
  const text = logs.join("\n");
  expect(text).not.toContain(PIN);
  expect(text).not.toMatch(/\$2[aby]\$/);
  for (const uid of uids) expect(text).not.toContain(uid);
}

describe.each(["sqlite", "postgres"] as const)("identification push on %s", (engine) => {
  it("full load on the first run, then deltas: create, update, block -> delete, re-activate -> insert, expiry -> delete", async () => {
    const w = await world(engine);
    const expiresAt = new Date(START + 3_600_000);
    const [mifare, rfid, qr, pnc] = await register(w, [
      card(1),
      { ...card(2), type: "RFID", rfidType: "mifareCls", printedNumber: "PN-2", expiresAt },
      { driverId: "driver-3", evcoId: "DE-DCB-C00000003-X", type: "QR_CODE", pin: PIN },
      { driverId: "driver-4", evcoId: "DE-DCB-C00000004-X", type: "PLUG_AND_CHARGE" },
      { ...card(5), status: "BLOCKED" },
    ]);

    // Nothing ever pushed: the first run is a full load of the ACTIVE ones.
    const first = await w.pusher.run();
    expect(first).toMatchObject({ fullLoad: true, calls: 1, complete: true });
    expect(sequence(w)).toEqual(["fullLoad:4:000"]);
    expect(held(w).size).toBe(4);
    expect(await held(w).authorizeOffline({ RFIDMifareFamilyIdentification: { UID: card(5).uid! } })).toMatchObject({ authorized: false });
    expect(await held(w).authorizeOffline({ QRCodeIdentification: { EvcoID: qr!.evcoId, PIN } })).toMatchObject({
      authorized: true,
      evcoId: qr!.evcoId,
    });
    expect(await held(w).authorizeOffline({ RFIDMifareFamilyIdentification: { UID: rfid!.uid!.toLowerCase() } })).toMatchObject({
      authorized: true,
      evcoId: rfid!.evcoId,
    });

    // Nothing changed: nothing sent.
    expect((await w.pusher.run()).calls).toBe(0);

    // Created -> insert.
    await register(w, [card(6)]);
    await w.pusher.run();
    // Changed -> update.
    await register(w, [{ ...card(2), type: "RFID", rfidType: "mifareCls", printedNumber: "PN-2b", expiresAt }]);
    await w.pusher.run();
    // Blocked -> delete; Hubject no longer authorizes it.
    await w.registry.block(mifare!.id, { driverId: mifare!.driverId, role: "DRIVER" });
    await w.pusher.run();
    expect(await held(w).authorizeOffline({ RFIDMifareFamilyIdentification: { UID: mifare!.uid! } })).toMatchObject({ authorized: false });
    // Re-activated -> insert.
    await w.registry.setStatus(mifare!.id, "ACTIVE", { driverId: "operator", role: "OPERATOR" });
    await w.pusher.run();
    expect(await held(w).authorizeOffline({ RFIDMifareFamilyIdentification: { UID: mifare!.uid! } })).toMatchObject({ authorized: true });
    expect(sequence(w)).toEqual(["fullLoad:4:000", "insert:1:000", "update:1:000", "delete:1:000", "insert:1:000"]);

    // The RFID card's expiry passes with no change of its own: Hubject must stop authorizing it.
    w.clock.advance(3_600_000 + 1);
    await w.pusher.run();
    expect(sequence(w).at(-1)).toBe("delete:1:000");
    expect(held(w).size).toBe(4);
    expect(await held(w).authorizeOffline({ PlugAndChargeIdentification: { EvcoID: pnc!.evcoId } })).toMatchObject({ authorized: true });
    expect((await w.pusher.run()).calls).toBe(0);

    expect(held(w).calls).toEqual({ fullLoad: 1, insert: 2, update: 1, delete: 2 });
    expect(held(w).records).toEqual({ fullLoad: 4, insert: 2, update: 1, delete: 2 });
    expectValidBodies(w);
    expectNoSecretsIn(w.logs, [card(1).uid!, card(2).uid!, card(5).uid!, card(6).uid!]);
    const metrics = await w.metrics.registry.getSingleMetricAsString("gateway_identification_push_calls_total");
    expect(metrics).toContain('gateway_identification_push_calls_total{action="delete",outcome="accepted"} 2');
    const records = await w.metrics.registry.getSingleMetricAsString("gateway_identification_push_records_total");
    expect(records).toContain('gateway_identification_push_records_total{action="fullLoad"} 4');
  });
});

describe("identification push (SQLite)", () => {
  it("batches: a full load of more than one batch is a fullLoad and then inserts; deltas go pushBatch at a time", async () => {
    const w = await world("sqlite", { batchSize: 2 });
    await register(w, [card(1), card(2), card(3), { ...card(4), status: "BLOCKED" }, card(5), card(6)]);
    await w.pusher.fullLoad();
    expect(sequence(w)).toEqual(["fullLoad:2:000", "insert:2:000", "insert:1:000"]);
    expect(held(w).size).toBe(5);
    await register(w, [card(7), card(8), card(9)]);
    await w.pusher.run();
    expect(sequence(w).slice(3)).toEqual(["insert:2:000", "insert:1:000"]);
    expect(held(w).size).toBe(8);
    expectValidBodies(w);
  });

  it("never more than 50 calls a minute: the 51st waits on the clock", async () => {
    const w = await world("sqlite", { batchSize: 1 });
    await register(
      w,
      Array.from({ length: 120 }, (_, i) => card(i + 1)),
    );
    const report = await w.pusher.run();
    expect(report).toMatchObject({ fullLoad: true, calls: 120, complete: true });
    expect(held(w).calls).toMatchObject({ fullLoad: 1, insert: 119 });
    expect(held(w).size).toBe(120);
    for (let i = 0; i + 50 < w.callTimes.length; i++) expect(w.callTimes[i + 50]! - w.callTimes[i]!).toBeGreaterThanOrEqual(60_000);
    // 120 calls at 50 a minute: the last goes out two minutes after the first.
    expect(w.callTimes.at(-1)! - w.callTimes[0]!).toBe(120_000);
    // The budget spans runs: right after, the next call waits for its slot too.
    await register(w, [card(500)]);
    await w.pusher.run();
    expect(w.callTimes.at(-1)! - w.callTimes.at(-51)!).toBeGreaterThanOrEqual(60_000);
  });

  it("an insert Hubject refuses because the record exists puts Hubject's copy in doubt: everything pending, a full load", async () => {
    const w = await world("sqlite");
    const [one] = await register(w, [card(1), card(2)]);
    await w.pusher.run();
    // The store forgets that Hubject holds card 1 (as after a lost answer): the pusher inserts it, Hubject refuses.
    await w.store.identifications.markPushed([{ id: one!.id, version: -1, pushedHash: null }]);
    await w.store.identifications.markAllPending();
    const report = await w.pusher.run();
    expect(sequence(w)).toEqual(["fullLoad:2:000", "insert:1:022", "fullLoad:2:000"]);
    expect(report).toMatchObject({ fullLoad: true, complete: false });
    expect(held(w).size).toBe(2);
    expect((await w.pusher.run()).calls).toBe(0);
    expect(w.logs.join("\n")).toContain("Hubject's copy is in doubt");
    expectValidBodies(w);
  });

  it("019: logged at error naming HUBJECT_PROVIDER_ID and the masked ids, never sent again until it changes", async () => {
    const w = await world("sqlite");
    await register(w, [card(1)]);
    await w.pusher.run();
    const foreignUid = "7568290FFF765F";
    const [foreign] = await register(w, [
      { driverId: "driver-x", evcoId: "DE-XYZ-C12345678-5", type: "RFID", rfidType: "mifareCls", uid: foreignUid },
    ]);
    const report = await w.pusher.run();
    expect(report.complete).toBe(false);
    expect(sequence(w)).toEqual(["fullLoad:1:000", "insert:1:019"]);
    const line = w.logs.map((l) => JSON.parse(l)).find((l) => l.code === "019");
    expect(line).toMatchObject({ level: 50, setting: "HUBJECT_PROVIDER_ID", providerId: PROVIDER });
    expect(line.refused).toEqual([{ id: foreign!.id, type: "RFID", uid: "…765F", evcoId: "DE-XYZ***" }]);
    expect(line.msg).toContain("HUBJECT_PROVIDER_ID=DE-DCB");
    // No loop: the next runs send nothing, and a full load leaves it out.
    expect((await w.pusher.run()).calls).toBe(0);
    await register(w, [card(2)]);
    await w.pusher.run();
    expect(sequence(w).at(-1)).toBe("insert:1:000");
    const full = await w.pusher.fullLoad();
    expect(full.complete).toBe(true);
    expect(sequence(w).at(-1)).toBe("fullLoad:2:000");
    expectNoSecretsIn(w.logs, [foreignUid, card(1).uid!, card(2).uid!]);
  });

  it("019 in a full load: the full load is tried again next run without the refused identification", async () => {
    const w = await world("sqlite");
    await register(w, [card(1), { driverId: "driver-x", evcoId: "DE-XYZ-C12345678-5", type: "PLUG_AND_CHARGE" }]);
    expect((await w.pusher.run()).complete).toBe(false);
    expect((await w.pusher.run()).complete).toBe(true);
    expect(sequence(w)).toEqual(["fullLoad:2:019", "fullLoad:1:000"]);
    expect((await w.pusher.run()).calls).toBe(0);
  });

  it("a push that fails stays pending and goes next run", async () => {
    const w = await world("sqlite");
    await register(w, [card(1)]);
    await w.pusher.run();
    await w.sim.close();
    await register(w, [card(2)]);
    const failed = await w.pusher.run();
    expect(failed).toMatchObject({ calls: 1, complete: false });
    expect((await w.store.identifications.pendingPush(10)).map((row) => row.uid)).toEqual([card(2).uid]);
  });

  it("pushes are never two in flight: the datasource sends the next one after the answer to the previous", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const actions: string[] = [];
    const server = http.createServer((req, res) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        actions.push(JSON.parse(Buffer.concat(chunks).toString("utf8")).ActionType);
        // Hubject's processing time: a later push sent meanwhile would overlap this one.
        setTimeout(() => {
          inFlight -= 1;
          res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ Result: true, StatusCode: { Code: "000" } }));
        }, 15);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const hubject = new HubjectDatasource({
      baseUrl: `http://127.0.0.1:${port}/api/oicp`,
      providerId: PROVIDER,
      logger: createLogger({ level: "silent" }),
    });
    cleanups.push(() => hubject.close());
    const record = { RFIDMifareFamilyIdentification: { UID: "1234ABCD" } };
    const outcomes = await Promise.all(
      (["fullLoad", "insert", "update", "delete"] as const).map((action) => hubject.pushAuthenticationData(action, [record])),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(["accepted", "accepted", "accepted", "accepted"]);
    expect(actions).toEqual(["fullLoad", "insert", "update", "delete"]);
    expect(maxInFlight).toBe(1);
  });
});

describe("the gateway's identification-push job", () => {
  it("runs only in offline or both mode, against the Hubject datasource (here the embedded simulator)", async () => {
    const offline = await startTestGateway({ env: { HUBJECT_AUTHORIZATION_MODE: "both", IDENTIFICATION_PUSH_INTERVAL_MS: "0" } });
    cleanups.push(() => offline.close());
    const { gateway } = offline;
    expect(gateway.identificationPush).not.toBeNull();
    await gateway.identifications.register([{ ...card(1), evcoId: "DE-GQL-C00000001-X" }]);
    await gateway.jobs.runNow("identification-push");
    expect(gateway.simulator!.authenticationData.calls).toEqual({ fullLoad: 1, insert: 0, update: 0, delete: 0 });
    expect(
      await gateway.simulator!.authenticationData.authorizeOffline({ RFIDMifareFamilyIdentification: { UID: card(1).uid! } }),
    ).toMatchObject({
      authorized: true,
    });
    const metrics = await gateway.metrics!.registry.getSingleMetricAsString("gateway_identification_push_calls_total");
    expect(metrics).toContain('action="fullLoad",outcome="accepted"} 1');

    const online = await startTestGateway({ env: { HUBJECT_AUTHORIZATION_MODE: "online" } });
    cleanups.push(() => online.close());
    expect(online.gateway.identificationPush).toBeNull();
    expect(() => online.gateway.jobs.runNow("identification-push")).toThrow(/no background job/);
  });
});
