// Prices over GraphQL on a real gateway with its simulator: Evse.prices, a start with a product
// the EVSE does not offer, and a live session's estimated cost then the completed one's cost, as
// exact decimals with their currency.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateCost } from "../../src/pricing/estimate.js";
import { PricingService } from "../../src/pricing/pricing.service.js";
import { PricingSync } from "../../src/pricing/sync.js";
import { UNPRICED_EVSE_ID } from "../../src/simulator/pricing.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { driver, startTestGateway, type TestGateway } from "../support/gateway.js";
import { validateOicpSchema } from "../support/openapi.js";
import { eventually } from "../support/wait.js";

let gw: TestGateway;
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

beforeAll(async () => {
  gw = await startTestGateway();
  const sync = new PricingSync({
    source: gw.gateway.hubject,
    store: (gw.gateway.store as SqlSessionStore).pricing,
    operators: async () => ["DE*SIM"],
    logger: quiet,
    fullEveryMs: 86_400_000,
    callsPerMinute: { "pricing-products": 300, "evse-pricing": 280 },
    operatorsPerCall: 100,
  });
  expect((await sync.run()).map((r) => r.error)).toEqual([undefined, undefined]);
});
afterAll(() => gw?.close());

const PRICES = `query($ids: [String!]!) { evses(ids: $ids) { id prices { productId referenceUnit pricePerReferenceUnit currency
  maximumPowerKw validAllDay availability { on periods } additionalReferences { kind unit pricePerUnit } offeredTo } } }`;

describe("prices over GraphQL", () => {
  it("Evse.prices lists the EMP's products at each EVSE, exact decimals with their currency", async () => {
    const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
    const { body } = await gw.graphql(PRICES, { ids: ["DE*SIM*E0001*1", "DE*SIM*E0001*4", UNPRICED_EVSE_ID] }, alice.token);
    expect(body.errors).toBeUndefined();
    const [ac, dc, none] = body.data.evses;
    expect(ac.prices.map((p: { productId: string }) => p.productId)).toEqual(["AC", "NIGHT"]);
    expect(ac.prices[0]).toMatchObject({
      referenceUnit: "KILOWATT_HOUR",
      currency: "EUR",
      validAllDay: true,
      additionalReferences: [
        { kind: "START FEE", unit: "MINUTE", pricePerUnit: "1" },
        { kind: "PARKING FEE", unit: "MINUTE", pricePerUnit: "0.1" },
      ],
    });
    expect(ac.prices[0].pricePerReferenceUnit).toMatch(/^0\.\d{2}$/);
    expect(ac.prices[1]).toMatchObject({
      referenceUnit: "HOUR",
      validAllDay: false,
      availability: [{ on: "Everyday", periods: ["22:00-06:00"] }],
    });
    expect(dc.prices[0]).toMatchObject({ productId: "DC", additionalReferences: [{ kind: "MAXIMUM FEE", pricePerUnit: "60" }] });
    expect(none.prices).toEqual([]);
    for (const call of gw.gateway.simulator!.callsTo("PullPricingProductData")) {
      expect(validateOicpSchema("eRoamingPullPricingProductData", call.body).errors).toEqual([]);
    }
    for (const call of gw.gateway.simulator!.callsTo("PullEvsePricing")) {
      expect(validateOicpSchema("eRoamingPullEVSEPricing", call.body).errors).toEqual([]);
    }
  });

  it("startCharging refuses a product the EVSE does not offer (BAD_USER_INPUT, nothing sent); without pricing data it goes on", async () => {
    const bob = await driver("bob", ["DE-GQL-C00000002-5"]);
    const start = `mutation($input: StartChargingInput!) { startCharging(input: $input) { session { id status } error { code } } }`;
    const starts = () => gw.gateway.simulator!.callsTo("AuthorizeRemoteStart").length;
    const before = starts();
    const refused = await gw.graphql(start, { input: { evseId: "DE*SIM*E0001*3", partnerProductId: "DC" } }, bob.token);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "partnerProductId" });
    expect(refused.body.errors[0].message).toContain('"DC" is not offered');
    expect(starts()).toBe(before);
    const unknown = await gw.graphql(start, { input: { evseId: UNPRICED_EVSE_ID, partnerProductId: "ANY" } }, bob.token);
    expect(unknown.body.errors).toBeUndefined();
    expect(starts()).toBe(before + 1);
  });

  it("a live session shows its estimated cost, a completed one the cost of its CDR (exact, with currency)", async () => {
    const carol = await driver("carol", ["DE-GQL-C00000003-3"]);
    const evseId = "DE*SIM*E0001*1";
    const start = `mutation($input: StartChargingInput!) { startCharging(input: $input) { session { id } error { code } } }`;
    const started = await gw.graphql(start, { input: { evseId, partnerProductId: "AC" } }, carol.token);
    expect(started.body.errors).toBeUndefined();
    const id = started.body.data.startCharging.session.id as string;
    const read = `query($id: ID!) { chargingSession(id: $id) { status consumedEnergyKwhDecimal estimatedCost { amount currency } cost { amount currency }
      chargeDetailRecord { consumedEnergyKwhDecimal sessionStart sessionEnd chargingStart chargingEnd } } }`;
    const session = async () => (await gw.graphql(read, { id }, carol.token)).body.data.chargingSession;
    const live = await eventually(async () => {
      const s = await session();
      return s.status === "CHARGING" && s.consumedEnergyKwhDecimal !== null ? s : null;
    }, "a CHARGING session with energy");
    expect(live.estimatedCost.currency).toBe("EUR");
    expect(live.estimatedCost.amount).toMatch(/^\d+\.\d{2}$/);
    expect(live.cost).toBeNull();

    const stop = `mutation($input: StopChargingInput!) { stopCharging(input: $input) { error { code } } }`;
    expect((await gw.graphql(stop, { input: { sessionId: id } }, carol.token)).body.errors).toBeUndefined();
    const done = await eventually(
      async () => {
        const s = await session();
        return s.status === "COMPLETED" ? s : null;
      },
      "the CDR",
      15_000,
    );
    expect(done.estimatedCost).toBeNull();
    const pricing = new PricingService({ store: (gw.gateway.store as SqlSessionStore).pricing, providerId: "DE-GQL" });
    const [products] = await pricing.productsAt([evseId]);
    const cdr = done.chargeDetailRecord;
    const date = (v: string | null) => (v === null ? null : new Date(v));
    const expected = estimateCost(
      products!.find((p) => p.productId === "AC")!,
      {
        energyKwh: cdr.consumedEnergyKwhDecimal,
        sessionStart: date(cdr.sessionStart),
        sessionEnd: date(cdr.sessionEnd),
        chargingStart: date(cdr.chargingStart),
        chargingEnd: date(cdr.chargingEnd),
      },
      new Date(),
    );
    expect(done.cost).toEqual(expected);
  });
});
