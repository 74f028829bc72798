import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubjectDatasource } from "../../src/datasources/hubject.datasource.js";
import { memoryBudget } from "../../src/evse-status/budget.js";
import { createEvseStatusLoader, EvseReadError } from "../../src/evse-status/request-loader.js";
import { memoryStatusCache } from "../../src/evse-status/status-cache.js";
import { EvseStatusReader } from "../../src/evse-status/status-reader.js";
import { createLogger } from "../../src/logger.js";
import { FakeHubject, type RecordedRequest } from "../datasources/fake-hubject.js";
import { validateOicpRequest } from "../support/openapi.js";

let hubject: FakeHubject;
let ds: HubjectDatasource;
/** The per-request loader on the gateway's reader; its shared cache is off (0 ms) so that each loader's own caching shows. */
const loaderOf = (source: HubjectDatasource, options: { cache?: boolean } = {}) =>
  createEvseStatusLoader(
    new EvseStatusReader({
      source,
      budget: memoryBudget(300),
      cache: memoryStatusCache({ keepMs: 60_000 }),
      freshMs: 0,
      windowMs: 0,
      logger: createLogger({ level: "silent" }),
    }),
    { cache: options.cache ?? true, maxIds: 1_000 },
  );

const evseIds = (count: number, offset = 0) => Array.from({ length: count }, (_, i) => `DE*ABC*E${i + offset}*1`);
const askedIds = (req: RecordedRequest) => (req.body as { EvseID: string[] }).EvseID;

beforeEach(async () => {
  hubject = await FakeHubject.start();
  // Every asked EVSE is Available, except ids ending in "7*1", which Hubject leaves out.
  hubject.responder = (req) => ({
    json: {
      EVSEStatusRecords: {
        EvseStatusRecord: askedIds(req)
          .filter((id) => !id.endsWith("7*1"))
          .map((id) => ({ EvseID: id, EvseStatus: "Available" })),
      },
      StatusCode: { Code: "000", Description: null, AdditionalInfo: null },
    },
  });
  ds = new HubjectDatasource({
    baseUrl: hubject.baseUrl,
    providerId: "DE-DCB",
    resilience: { retryAttempts: 2, retryInitialDelayMs: 5, retryMaxDelayMs: 20 },
  });
});
afterEach(async () => {
  ds.close();
  await hubject.close();
});

describe("createEvseStatusLoader", () => {
  it("250 distinct ids in one tick -> 3 upstream calls of at most 100", async () => {
    const loader = loaderOf(ds);
    const ids = evseIds(250);

    const statuses = await Promise.all(ids.map((id) => loader.load(id)));

    expect(hubject.requests).toHaveLength(3);
    expect(hubject.requests.map((r) => askedIds(r).length).sort((a, b) => b - a)).toEqual([100, 100, 50]);
    expect(new Set(hubject.requests.flatMap(askedIds))).toEqual(new Set(ids));
    for (const req of hubject.requests) expect(validateOicpRequest("eRoamingPullEVSEStatusByID", req.body).valid).toBe(true);
    ids.forEach((id, i) => {
      expect(statuses[i]!.status).toBe(id.endsWith("7*1") ? "Unknown" : "Available");
    });
  });

  it("100 loads with duplicates -> 1 call, each id sent once", async () => {
    const loader = loaderOf(ds);
    const ids = [...evseIds(50), ...evseIds(50)];

    await Promise.all(ids.map((id) => loader.load(id)));

    expect(hubject.requests).toHaveLength(1);
    expect(askedIds(hubject.requests[0]!)).toEqual(evseIds(50));
  });

  it("caches per loader: the same id again costs nothing; a new loader asks again", async () => {
    const loader = loaderOf(ds);
    await loader.load("DE*ABC*E1*1");
    await loader.load("DE*ABC*E1*1");
    await loader.load("de*abc*E1*1"); // E11: case-insensitive
    expect(hubject.requests).toHaveLength(1);

    await loaderOf(ds).load("DE*ABC*E1*1");
    expect(hubject.requests).toHaveLength(2);
  });

  it("cache: false still batches per tick but asks again on the next tick", async () => {
    const loader = loaderOf(ds, { cache: false });
    await Promise.all(["DE*ABC*E1*1", "DE*ABC*E1*1", "DE*ABC*E2*1"].map((id) => loader.load(id)));
    expect(hubject.requests).toHaveLength(1);
    expect(askedIds(hubject.requests[0]!)).toEqual(["DE*ABC*E1*1", "DE*ABC*E2*1"]);
    await loader.load("DE*ABC*E1*1");
    expect(hubject.requests).toHaveLength(2);
  });

  it("a failed batch (after the datasource's retries) rejects each key with a retryable read error, and is not cached", async () => {
    hubject.answer({ status: 503, text: "" });
    const loader = loaderOf(ds);

    const results = await Promise.allSettled(evseIds(3).map((id) => loader.load(id)));

    // One batch = one call = 1 request + 2 retries; the loader itself does not retry.
    expect(hubject.requests).toHaveLength(3);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      const reason = (result as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(EvseReadError);
      expect((reason as EvseReadError).failure).toEqual({ ok: false, reason: "unavailable", retryAfterMs: null });
    }

    hubject.answer({ json: { EVSEStatusRecords: { EvseStatusRecord: [{ EvseID: "DE*ABC*E0*1", EvseStatus: "Occupied" }] } } });
    await expect(loader.load("DE*ABC*E0*1")).resolves.toMatchObject({ status: "Occupied", fresh: true });
    expect(hubject.requests).toHaveLength(4);
  });
});
