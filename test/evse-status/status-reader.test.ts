// The one reader of EVSE statuses, against the simulated Hubject over real sockets: the shared
// cache, in-flight reads joined, the EMP-wide budget, Retry-After honoured as sent, and stale
// statuses served with their age when no call can be made.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubjectDatasource } from "../../src/datasources/hubject.datasource.js";
import { type CallBudget, memoryBudget } from "../../src/evse-status/budget.js";
import { createEvseStatusLoader, EvseReadError, TooManyEvsesError } from "../../src/evse-status/request-loader.js";
import { memoryStatusCache } from "../../src/evse-status/status-cache.js";
import { EvseStatusReader, EvseStatusUnavailableError } from "../../src/evse-status/status-reader.js";
import { createLogger } from "../../src/logger.js";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { eventually } from "../support/wait.js";

const logger = createLogger({ level: "silent" });
const ids = (n: number, from = 1000) => Array.from({ length: n }, (_, i) => `DE*SIM*E${from + i}*1`);

let simulator: HubjectSimulator;
let hubject: HubjectDatasource;
let now: number;
const statusCalls = () => simulator.callsTo("PullEvseStatusById");
const askedIn = (i: number) => (statusCalls()[i]!.body as { EvseID: string[] }).EvseID;

function reader(options: { budget?: CallBudget; freshMs?: number; windowMs?: number; staleMs?: number } = {}) {
  return new EvseStatusReader({
    source: hubject,
    budget: options.budget ?? memoryBudget(300, () => now),
    cache: memoryStatusCache({ keepMs: options.staleMs ?? 15 * 60_000, now: () => now }),
    freshMs: options.freshMs ?? 10_000,
    windowMs: options.windowMs ?? 0,
    logger,
    now: () => now,
  });
}

beforeEach(async () => {
  now = Date.parse("2026-12-04T12:00:00Z");
  simulator = await startSimulator({ providerId: "DE-GQL", port: 0, logger });
  hubject = new HubjectDatasource({
    baseUrl: simulator.url,
    providerId: "DE-GQL",
    resilience: { retryAttempts: 2, retryInitialDelayMs: 5, retryMaxDelayMs: 50 },
    logger,
  });
});
afterEach(async () => {
  hubject.close();
  await simulator.close();
});

describe("EvseStatusReader", () => {
  it("320 concurrent reads of one EVSE make one call, in either spelling of its id", async () => {
    const evses = reader();
    const spellings = ["DE*SIM*E0001*1", "de*sim*e0001*1", "DESIME00011"];
    const reads = await Promise.all(Array.from({ length: 320 }, (_, i) => evses.read([spellings[i % 3]!])));
    expect(statusCalls()).toHaveLength(1);
    for (const read of reads) expect([...read.values()][0]).toMatchObject({ ok: true, fresh: true, status: "Available" });
    expect([...reads[0]!.values()][0]).toMatchObject({ observedAt: new Date(now) });
  });

  it("serves the cache while it is fresh, asks again once it is not", async () => {
    const evses = reader({ freshMs: 10_000 });
    await evses.read(["DE*SIM*E0001*1"]);
    now += 10_000;
    await evses.read(["DE*SIM*E0001*1"]);
    expect(statusCalls()).toHaveLength(1);
    now += 1;
    const again = await evses.read(["DE*SIM*E0001*1"]);
    expect(statusCalls()).toHaveLength(2);
    expect(again.get("DE*SIM*E0001*1")).toMatchObject({ fresh: true, observedAt: new Date(now) });
  });

  it("320 reads of different EVSEs within the budget make exactly the budget's calls; the rest fail retryably", async () => {
    const evses = reader({ budget: memoryBudget(20, () => now) });
    const results = [];
    for (const id of ids(320)) {
      results.push((await evses.read([id])).get(id)!);
      now += 5_000 / 320; // 320 reads in 5 s
    }
    expect(statusCalls()).toHaveLength(20);
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(300);
    for (const failure of refused) {
      expect(failure).toMatchObject({ ok: false, reason: "budget-spent" });
      expect((failure as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(50_000);
    }
  });

  it("reads asked in one tick share calls of at most 100 EVSEs", async () => {
    const evses = reader();
    const asked = ids(250);
    const reads = await Promise.all(asked.map((id) => evses.read([id])));
    expect(statusCalls().map((_, i) => askedIn(i).length)).toEqual([100, 100, 50]);
    expect(reads.every((read) => [...read.values()][0]!.ok)).toBe(true);
  });

  it("when the budget is spent, an older status is served with its age; evidence gets none", async () => {
    const evses = reader({ budget: memoryBudget(1, () => now), freshMs: 1_000 });
    const observedAt = new Date(now);
    await evses.read(["DE*SIM*E0001*1"]);
    now += 5_000;
    const read = (await evses.read(["DE*SIM*E0001*1"])).get("DE*SIM*E0001*1");
    expect(read).toEqual({ ok: true, fresh: false, status: "Available", observedAt });
    await expect(evses.asSource().pullEvseStatusById(["DE*SIM*E0001*1"])).rejects.toBeInstanceOf(EvseStatusUnavailableError);
    expect(statusCalls()).toHaveLength(1);
  });

  it("honours Hubject's Retry-After as sent: one request, and no call until the time is up", async () => {
    const evses = reader({ freshMs: 0 });
    await evses.read(["DE*SIM*E0001*1"]);
    simulator.failNext("PullEvseStatusById", { kind: "http", status: 429, retryAfterSeconds: 30 });
    now += 1;
    const limited = (await evses.read(["DE*SIM*E0001*1", "DE*SIM*E0001*2"])) as Map<string, unknown>;
    // 30 s is longer than a retry may wait (50 ms here): no retry, and the wait is not cut.
    expect(statusCalls()).toHaveLength(2);
    expect(limited.get("DE*SIM*E0001*1")).toMatchObject({ ok: true, fresh: false, status: "Available" });
    expect(limited.get("DE*SIM*E0001*2")).toMatchObject({ ok: false, reason: "unavailable" });
    const wait = (limited.get("DE*SIM*E0001*2") as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBeGreaterThan(29_000);
    expect(wait).toBeLessThanOrEqual(30_000);

    const held = (await evses.read(["DE*SIM*E0001*2"])).get("DE*SIM*E0001*2");
    expect(held).toMatchObject({ ok: false, reason: "unavailable" });
    expect(statusCalls()).toHaveLength(2); // held: nothing was sent
  });

  it("calls again once Hubject's Retry-After has passed", async () => {
    const evses = reader({ freshMs: 0 });
    simulator.failNext("PullEvseStatusById", { kind: "http", status: 503, retryAfterSeconds: 1 });
    const sent = performance.now();
    expect((await evses.read(["DE*SIM*E0001*1"])).get("DE*SIM*E0001*1")).toMatchObject({ ok: false, reason: "unavailable" });
    const read = await eventually(async () => {
      const result = (await evses.read(["DE*SIM*E0001*1"])).get("DE*SIM*E0001*1")!;
      return result.ok ? result : null;
    }, "a read after Retry-After");
    expect(read.status).toBe("Available");
    expect(performance.now() - sent).toBeGreaterThanOrEqual(990);
    expect(statusCalls()).toHaveLength(2); // the refused one and the one after the wait, nothing in between
  });
});

describe("the per-request loader", () => {
  it("holds the cap whatever shape asks: the batch that passes it fails whole, before any call", async () => {
    const evses = reader();
    const loader = createEvseStatusLoader(evses, { cache: true, maxIds: 100 });
    const first = await Promise.all(ids(60).map((id) => loader.load(id)));
    expect(first).toHaveLength(60);
    const second = await Promise.allSettled(ids(60, 2000).map((id) => loader.load(id)));
    expect(second.every((r) => r.status === "rejected" && r.reason instanceof TooManyEvsesError)).toBe(true);
    // The same EVSE again, however written, is no new EVSE.
    await expect(loader.load("de*sim*e1000*1")).resolves.toMatchObject({ observedAt: new Date(now) });
    expect(statusCalls()).toHaveLength(1);
  });

  it("past the driver's own limit, serves the cache only", async () => {
    const evses = reader();
    await evses.read(["DE*SIM*E0001*1"]);
    const loader = createEvseStatusLoader(evses, {
      cache: true,
      maxIds: 100,
      mayCallHubject: async () => ({ allowed: false, retryAfterMs: 12_000 }),
    });
    await expect(loader.load("DE*SIM*E0001*1")).resolves.toMatchObject({ status: "Available", fresh: true });
    const refused = await loader.load("DE*SIM*E0001*2").catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EvseReadError);
    expect((refused as EvseReadError).failure).toEqual({ ok: false, reason: "driver-limited", retryAfterMs: 12_000 });
    expect(statusCalls()).toHaveLength(1);
  });
});
