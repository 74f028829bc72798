// The simulated Hubject's dynamic pricing (docs/oicp.md#pricing): eRoamingPullPricingProductData
// and eRoamingPullEVSEPricing v1.0 with `LastCall` deltas, deterministic from the EvseIDs. Every
// operator offers AC and DC (per kWh, with fees) and NIGHT (per hour, 22:00-06:00); an EVSE offers
// AC or DC by its power, and NIGHT. DE*SIM offers them to our ProviderID, the generated operators
// to all EMPs ("*"). DE*SIM*E0001*2 has no pricing data at all (the "no prices known" case).
// Tests change prices between pulls (setPrice, setProducts) and read the counters.
import type { ServerResponse } from "node:http";

interface PricingContext {
  res: ServerResponse;
  body: Record<string, unknown>;
}

export interface PricedEvse {
  evseId: string;
  powerKw: number;
}

export const UNPRICED_EVSE_ID = "DE*SIM*E0001*2";
const OK = { Code: "000", Description: null, AdditionalInfo: null };
const DATE_TIME = /T.*(Z|[+-]\d{2}:\d{2})$/;

const operatorOf = (evseId: string): string => evseId.split("*").slice(0, 2).join("*");

/** A small stable hash: the same operator gets the same prices in every run. */
function hash(text: string): number {
  let h = 7;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return h;
}

export class SimulatedPricing {
  /** Prices in cents by operator and product, once changed by setPrice. */
  private readonly prices = new Map<string, number>();
  private readonly operatorChangedAt = new Map<string, number>();
  private readonly lists = new Map<string, { productIds: string[]; changedAt: number }>();
  private readonly createdAt: number;
  readonly counters = { pullPricingProductData: 0, pullEvsePricing: 0 };

  constructor(
    private readonly providerId: string,
    private readonly evses: () => readonly PricedEvse[],
    private readonly clock: () => number = Date.now,
  ) {
    this.createdAt = this.clock();
  }

  /** Changes one product's price (cents): its operator's block comes in the next delta. */
  setPrice(operatorId: string, productId: string, cents: number): void {
    this.prices.set(`${operatorId}/${productId}`, cents);
    this.operatorChangedAt.set(operatorId, this.clock());
  }

  /** Replaces an EVSE's product list: it comes in the next delta. */
  setProducts(evseId: string, productIds: string[]): void {
    this.lists.set(evseId, { productIds, changedAt: this.clock() });
  }

  /** The product ids an EVSE offers ([] for the unpriced one). */
  productIdsAt(evse: PricedEvse): string[] {
    const set = this.lists.get(evse.evseId);
    if (set) return set.productIds;
    if (evse.evseId === UNPRICED_EVSE_ID) return [];
    return [evse.powerKw >= 50 ? "DC" : "AC", "NIGHT"];
  }

  /** PricingProductData of the operators asked for (all of them before LastCall, changed ones after). */
  productData(operatorIds: readonly string[], lastCall: number | null): unknown[] {
    const known = new Set(this.evses().map((e) => operatorOf(e.evseId)));
    return operatorIds
      .filter((id) => known.has(id))
      .filter((id) => lastCall === null || (this.operatorChangedAt.get(id) ?? this.createdAt) > lastCall)
      .map((id) => this.operatorBlock(id));
  }

  /** EVSEPricing of the operators asked for. */
  evsePricing(operatorIds: readonly string[], lastCall: number | null): unknown[] {
    const byOperator = new Map<string, unknown[]>();
    for (const evse of this.evses()) {
      const operatorId = operatorOf(evse.evseId);
      if (!operatorIds.includes(operatorId)) continue;
      const changedAt = this.lists.get(evse.evseId)?.changedAt ?? this.createdAt;
      if (lastCall !== null && changedAt <= lastCall) continue;
      const productIds = this.productIdsAt(evse);
      if (productIds.length === 0 && !this.lists.has(evse.evseId)) continue;
      const entry = { EvseID: evse.evseId, ProviderID: this.providerFor(operatorId), EvseIDProductList: productIds };
      byOperator.set(operatorId, [...(byOperator.get(operatorId) ?? []), entry]);
    }
    return [...byOperator].map(([OperatorID, EVSEPricing]) => ({ OperatorID, OperatorName: `${OperatorID} charging`, EVSEPricing }));
  }

  private providerFor(operatorId: string): string {
    return operatorId === "DE*SIM" ? this.providerId : "*";
  }

  private cents(operatorId: string, productId: string, base: number): number {
    return this.prices.get(`${operatorId}/${productId}`) ?? base + (hash(operatorId) % 5) * 2;
  }

  private operatorBlock(operatorId: string): unknown {
    // Cents divided once: 41 / 100 prints as 0.41, an exact decimal on the wire.
    const price = (productId: string, base: number) => this.cents(operatorId, productId, base) / 100;
    return {
      OperatorID: operatorId,
      OperatorName: `${operatorId} charging`,
      ProviderID: this.providerFor(operatorId),
      PricingDefaultPrice: price("DEFAULT", 45),
      PricingDefaultPriceCurrency: "EUR",
      PricingDefaultReferenceUnit: "KILOWATT_HOUR",
      PricingProductDataRecords: [
        {
          ProductID: "AC",
          ReferenceUnit: "KILOWATT_HOUR",
          ProductPriceCurrency: "EUR",
          PricePerReferenceUnit: price("AC", 39),
          MaximumProductChargingPower: 22,
          IsValid24hours: true,
          ProductAvailabilityTimes: [],
          AdditionalReferences: [
            { AdditionalReference: "START FEE", AdditionalReferenceUnit: "MINUTE", PricePerAdditionalReferenceUnit: 1 },
            { AdditionalReference: "PARKING FEE", AdditionalReferenceUnit: "MINUTE", PricePerAdditionalReferenceUnit: 0.1 },
          ],
        },
        {
          ProductID: "DC",
          ReferenceUnit: "KILOWATT_HOUR",
          ProductPriceCurrency: "EUR",
          PricePerReferenceUnit: price("DC", 59),
          MaximumProductChargingPower: 350,
          IsValid24hours: true,
          ProductAvailabilityTimes: [],
          AdditionalReferences: [
            { AdditionalReference: "MAXIMUM FEE", AdditionalReferenceUnit: "KILOWATT_HOUR", PricePerAdditionalReferenceUnit: 60 },
          ],
        },
        {
          ProductID: "NIGHT",
          ReferenceUnit: "HOUR",
          ProductPriceCurrency: "EUR",
          PricePerReferenceUnit: price("NIGHT", 240),
          MaximumProductChargingPower: 22,
          IsValid24hours: false,
          // `Periods`, not `Period` (docs/oicp.md#e14).
          ProductAvailabilityTimes: [{ Periods: [{ begin: "22:00", end: "06:00" }], on: "Everyday" }],
          AdditionalReferences: [
            { AdditionalReference: "MINIMUM FEE", AdditionalReferenceUnit: "HOUR", PricePerAdditionalReferenceUnit: 1.5 },
          ],
        },
      ],
    };
  }
}

type FieldErrors = Array<{ fieldReference: string; errorMessage: string }>;

export interface PricingPullDeps<C extends PricingContext> {
  pricing: SimulatedPricing;
  admit: (ctx: C) => boolean;
  reply: (ctx: C, answer: unknown) => void;
  validationError: (res: ServerResponse, errors: FieldErrors) => void;
}

/** The two pull handlers, checking what Hubject checks (OperatorIDs, LastCall with an offset). */
export function pricingPullHandlers<C extends PricingContext>(deps: PricingPullDeps<C>) {
  const read = (ctx: C): { operatorIds: string[]; lastCall: number | null } | null => {
    const errors: FieldErrors = [];
    const ids = ctx.body.OperatorIDs;
    if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== "string")) {
      errors.push({ fieldReference: "operatorIDs", errorMessage: "must be a non-empty array of OperatorIDs" });
    }
    let lastCall: number | null = null;
    if (ctx.body.LastCall != null) {
      lastCall = typeof ctx.body.LastCall === "string" && DATE_TIME.test(ctx.body.LastCall) ? Date.parse(ctx.body.LastCall) : Number.NaN;
      if (Number.isNaN(lastCall)) errors.push({ fieldReference: "lastCall", errorMessage: "must be a date-time with offset" });
    }
    if (errors.length > 0) {
      deps.validationError(ctx.res, errors);
      return null;
    }
    return { operatorIds: ids as string[], lastCall };
  };
  return {
    pullPricingProductData(ctx: C): void {
      const request = read(ctx);
      if (!request || !deps.admit(ctx)) return;
      deps.pricing.counters.pullPricingProductData++;
      deps.reply(ctx, { PricingProductData: deps.pricing.productData(request.operatorIds, request.lastCall), StatusCode: OK });
    },
    pullEvsePricing(ctx: C): void {
      if (typeof ctx.body.ProviderID !== "string") {
        return deps.validationError(ctx.res, [{ fieldReference: "providerID", errorMessage: "must not be null" }]);
      }
      const request = read(ctx);
      if (!request || !deps.admit(ctx)) return;
      deps.pricing.counters.pullEvsePricing++;
      deps.reply(ctx, { EVSEPricing: deps.pricing.evsePricing(request.operatorIds, request.lastCall), StatusCode: OK });
    },
  };
}

/** The EVSEs of the generated catalogue (evse-data.ts) with their power, for the prices above. */
export function pricedEvses(data: { evseIds(): string[]; record(evseId: string): Record<string, unknown> | undefined }): PricedEvse[] {
  return data.evseIds().map((evseId) => {
    const facilities = data.record(evseId)?.ChargingFacilities;
    const first = Array.isArray(facilities) ? (facilities[0] as { Power?: unknown } | undefined) : undefined;
    return { evseId, powerKw: Number(first?.Power ?? 0) };
  });
}
