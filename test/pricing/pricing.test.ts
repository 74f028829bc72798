// Dynamic pricing (docs/oicp.md#pricing): reading both spellings leniently, the real simulator's
// answers through the real client, the sync (full, then a LastCall delta) into SQLite and
// PostgreSQL, whether a product is offered, and the cost formula in exact decimals.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HubjectDatasource } from "../../src/datasources/hubject.datasource.js";
import { readEvsePricing } from "../../src/oicp/client/operations/pull-evse-pricing.js";
import { readOperatorPricing } from "../../src/oicp/client/operations/pull-pricing-product-data.js";
import { parseOicpJson } from "../../src/oicp/wire/decimal.js";
import { estimateCost } from "../../src/pricing/estimate.js";
import type { SkippedPricingRecord } from "../../src/pricing/ports.js";
import type { PricingProduct } from "../../src/pricing/pricing.js";
import { PricingService } from "../../src/pricing/pricing.service.js";
import { PricingSync } from "../../src/pricing/sync.js";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { UNPRICED_EVSE_ID } from "../../src/simulator/pricing.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { createTestSchema, postgresAvailable } from "../store/pg-support.js";
import { validateOicpSchema } from "../support/openapi.js";

const PROVIDER = "DE*GQL";
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

describe("reading pricing answers", () => {
  it("reads a product exactly, Periods and Period, and skips a malformed product alone", () => {
    const json = parseOicpJson(
      JSON.stringify({
        OperatorID: "DE*ABC",
        ProviderID: "*",
        PricingDefaultPrice: 0.1,
        PricingDefaultPriceCurrency: "EUR",
        PricingDefaultReferenceUnit: "KILOWATT_HOUR",
        PricingProductDataRecords: [
          {
            ProductID: "AC1",
            ReferenceUnit: "KILOWATT_HOUR",
            ProductPriceCurrency: "EUR",
            PricePerReferenceUnit: 0.30000000000000004,
            MaximumProductChargingPower: 22,
            IsValid24hours: false,
            ProductAvailabilityTimes: [{ Periods: [{ begin: "08:00", end: "18:00" }], on: "Workdays" }],
            AdditionalReferences: [
              { AdditionalReference: "PARKING FEE", AdditionalReferenceUnit: "MINUTE", PricePerAdditionalReferenceUnit: 0.05 },
            ],
          },
          {
            ProductID: "NIGHT",
            ReferenceUnit: "HOUR",
            ProductPriceCurrency: "CHF",
            PricePerReferenceUnit: "2,40",
            MaximumProductChargingPower: 11,
            IsValid24hours: false,
            ProductAvailabilityTimes: [{ Period: [{ begin: "22:00", end: "06:00" }], On: "Everyday" }],
          },
          { ProductID: "BAD", ReferenceUnit: "LITRE", ProductPriceCurrency: "EUR", PricePerReferenceUnit: 1 },
          { ProductID: "NOPRICE", ReferenceUnit: "HOUR", ProductPriceCurrency: "euro", PricePerReferenceUnit: 1 },
        ],
      }),
    );
    const skipped: SkippedPricingRecord[] = [];
    const read = readOperatorPricing(json, skipped);
    expect(read?.defaults).toMatchObject({ operatorId: "DE*ABC", providerId: "*", price: "0.1", currency: "EUR" });
    expect(read?.products.map((p) => p.productId)).toEqual(["AC1", "NIGHT"]);
    // The digits as sent, not a float's rounding.
    expect(read?.products[0]).toMatchObject({
      pricePerReferenceUnit: "0.30000000000000004",
      isValid24Hours: false,
      availability: [{ on: "Workdays", periods: [{ begin: "08:00", end: "18:00" }] }],
      additionalReferences: [{ kind: "PARKING FEE", unit: "MINUTE", pricePerUnit: "0.05" }],
    });
    expect(read?.products[1]).toMatchObject({
      pricePerReferenceUnit: "2.40",
      currency: "CHF",
      availability: [{ on: "Everyday", periods: [{ begin: "22:00", end: "06:00" }] }],
    });
    expect(skipped.map((s) => s.id)).toEqual(["DE*ABC/BAD", "DE*ABC/NOPRICE"]);
  });

  it("skips an operator block without its defaults, and reads EVSEPricing and OperatorEVSEPricing (E7)", () => {
    const skipped: SkippedPricingRecord[] = [];
    expect(readOperatorPricing({ OperatorID: "DE*ABC", ProviderID: "DE*GQL", PricingProductDataRecords: [] }, skipped)).toBeNull();
    expect(skipped).toHaveLength(1);
    const block = {
      OperatorID: "DE*ABC",
      EVSEPricing: [
        { EvseID: "DE*ABC*E1*1", ProviderID: "DE*GQL", EvseIDProductList: ["AC1", "AC1", "NIGHT"] },
        { EvseID: "not an evse", ProviderID: "DE*GQL", EvseIDProductList: ["AC1"] },
        { EvseID: "DE*ABC*E1*2", ProviderID: "*" },
      ],
    };
    for (const key of ["EVSEPricing", "OperatorEVSEPricing"]) {
      const answer = readEvsePricing({ [key]: [block] });
      expect(answer.evses).toEqual([{ operatorId: "DE*ABC", evseId: "DE*ABC*E1*1", providerId: "DE*GQL", productIds: ["AC1", "NIGHT"] }]);
      expect(answer.skipped.map((s) => s.reason)).toEqual(["EvseID missing or malformed", "EvseIDProductList missing"]);
    }
  });
});

describe("the cost formula", () => {
  const product = (over: Partial<PricingProduct>): PricingProduct => ({
    operatorId: "DE*SIM",
    providerId: PROVIDER,
    productId: "AC",
    referenceUnit: "KILOWATT_HOUR",
    pricePerReferenceUnit: "0.39",
    currency: "EUR",
    maximumPowerKw: "22",
    isValid24Hours: true,
    availability: [],
    additionalReferences: [],
    ...over,
  });
  const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 10, minutes));

  it("energy × price + start fee + parking, exact to the cent", () => {
    const cost = estimateCost(
      product({
        additionalReferences: [
          { kind: "START FEE", unit: "MINUTE", pricePerUnit: "1" },
          { kind: "PARKING FEE", unit: "MINUTE", pricePerUnit: "0.1" },
        ],
      }),
      { energyKwh: "21.343", sessionStart: at(0), chargingStart: at(5), chargingEnd: at(65), sessionEnd: at(75) },
      at(90),
    );
    // 21.343 × 0.39 = 8.32377, + 1, + 15 min parking (5 before, 10 after) × 0.1 = 10.82377 → 10.82
    expect(cost).toEqual({ amount: "10.82", currency: "EUR" });
  });

  it("time-based with a minimum and a maximum fee; a live session counts to now", () => {
    const night = product({
      referenceUnit: "HOUR",
      pricePerReferenceUnit: "2.4",
      additionalReferences: [{ kind: "MINIMUM FEE", unit: "HOUR", pricePerUnit: "1.5" }],
    });
    const live = { energyKwh: "1.1", sessionStart: at(0), chargingStart: at(0), chargingEnd: null, sessionEnd: null };
    expect(estimateCost(night, live, at(15))).toEqual({ amount: "1.50", currency: "EUR" }); // 0.60 below the minimum
    expect(estimateCost(night, live, at(45))).toEqual({ amount: "1.80", currency: "EUR" });
    const capped = product({
      pricePerReferenceUnit: "0.59",
      additionalReferences: [{ kind: "MAXIMUM FEE", unit: "KILOWATT_HOUR", pricePerUnit: "60" }],
    });
    expect(estimateCost(capped, { ...live, energyKwh: "150.5" }, at(30))).toEqual({ amount: "60.00", currency: "EUR" });
    expect(estimateCost(capped, { ...live, energyKwh: "0.1" }, at(30))).toEqual({ amount: "0.06", currency: "EUR" }); // 0.059 half up
  });
});

const PG = await postgresAvailable();

describe.each(["sqlite", ...(PG ? ["postgres"] : [])])("the sync against the simulator (%s)", (engine) => {
  let simulator: HubjectSimulator;
  let hubject: HubjectDatasource;
  let store: SqlSessionStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    simulator = await startSimulator({ providerId: PROVIDER, evseData: { seed: 7, evses: 40 }, logger: undefined });
    hubject = new HubjectDatasource({ baseUrl: simulator.url, providerId: PROVIDER });
    if (engine === "sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "pricing-"));
      store = openSqlStore({ url: join(dir, "gw.db") });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const schema = await createTestSchema();
      store = openSqlStore({ url: schema.url, poolSize: 2 });
      cleanup = () => schema.drop();
    }
    await store.migrate();
  });
  afterAll(async () => {
    hubject.close();
    await simulator.close();
    await store.close();
    await cleanup();
  });
  afterEach(() => simulator.clearFaults());

  const sync = () =>
    new PricingSync({
      source: hubject,
      store: store.pricing,
      operators: async () => ["DE*SIM", "DE*ION"],
      logger: quiet,
      fullEveryMs: 86_400_000,
      callsPerMinute: { "pricing-products": 300, "evse-pricing": 280 },
      operatorsPerCall: 100,
    });

  it("loads everything, then only what changed (LastCall); every request is valid against the OAS", async () => {
    const job = sync();
    const first = await job.run();
    expect(first.map((r) => [r.pull, r.mode, r.error])).toEqual([
      ["pricing-products", "full", undefined],
      ["evse-pricing", "full", undefined],
    ]);
    const pricing = new PricingService({ store: store.pricing, providerId: PROVIDER });
    const [dc, ac, unpriced] = await pricing.productsAt(["DE*SIM*E0001*4", "de*sim*e0001*1", UNPRICED_EVSE_ID]);
    expect(dc?.map((p) => p.productId)).toEqual(["DC", "NIGHT"]);
    expect(ac?.map((p) => p.productId)).toEqual(["AC", "NIGHT"]);
    expect(ac?.[0]).toMatchObject({ referenceUnit: "KILOWATT_HOUR", currency: "EUR", providerId: PROVIDER });
    expect(ac?.[0]?.pricePerReferenceUnit).toMatch(/^0\.\d\d$/);
    expect(unpriced).toEqual([]);
    expect(await pricing.isOffered("DE*SIM*E0001*1", "AC")).toBe("offered");
    expect(await pricing.isOffered("DE*SIM*E0001*1", "DC")).toBe("not-offered");
    expect(await pricing.isOffered(UNPRICED_EVSE_ID, "DC")).toBe("unknown");
    // The generated operators offer to all EMPs ("*").
    const ion = simulator.evseData.evseIds().find((id) => id.startsWith("DE*ION"))!;
    expect((await pricing.productsAt([ion]))[0]?.[0]?.providerId).toBe("*");

    simulator.pricing.setPrice("DE*SIM", "AC", 123);
    simulator.pricing.setProducts("DE*SIM*E0001*1", ["DC"]);
    const second = await job.run();
    // LastCall is floored to the second, so what changed in the first pull's second comes again (never less).
    expect(second.map((r) => [r.mode, r.error])).toEqual([
      ["delta", undefined],
      ["delta", undefined],
    ]);
    expect(second[0]!.records).toBeGreaterThanOrEqual(3);
    const [after] = await pricing.productsAt(["DE*SIM*E0001*1"]);
    expect(after?.map((p) => [p.productId, p.pricePerReferenceUnit])).toEqual([["DC", expect.any(String)]]);
    const [station3] = await pricing.productsAt(["DE*SIM*E0001*3"]);
    expect(station3?.find((p) => p.productId === "AC")?.pricePerReferenceUnit).toBe("1.23");

    const requests = [...simulator.callsTo("PullPricingProductData"), ...simulator.callsTo("PullEvsePricing")];
    expect(requests).toHaveLength(4);
    for (const call of simulator.callsTo("PullPricingProductData")) {
      expect(validateOicpSchema("eRoamingPullPricingProductData", call.body).errors).toEqual([]);
      expect(call.path).toBe(`/api/oicp/dynamicpricing/v10/providers/${encodeURIComponent(PROVIDER)}/pricing-products`);
    }
    for (const call of simulator.callsTo("PullEvsePricing")) {
      expect(validateOicpSchema("eRoamingPullEVSEPricing", call.body).errors).toEqual([]);
    }
    expect((requests[0]!.body as Record<string, unknown>).LastCall).toBeUndefined();
    expect((requests[1]!.body as Record<string, unknown>).LastCall).toMatch(/\+00:00$/);
  });

  it("a 429 ends the run without moving LastCall; the next run repeats it", async () => {
    const before = await store.pricing.syncState("pricing-products");
    simulator.failNext("PullPricingProductData", { kind: "http", status: 429 }, 5);
    const failed = await sync().run();
    expect(failed[0]?.error).toBeDefined();
    expect(failed[1]?.mode).toBe("skipped");
    expect(await store.pricing.syncState("pricing-products")).toEqual(before);
    simulator.clearFaults();
    const again = await sync().run();
    expect(again.map((r) => r.error)).toEqual([undefined, undefined]);
  });
});
