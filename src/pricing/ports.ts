// The ports the pricing use cases own: where prices come from (Hubject) and where they are kept.
import type { EvseProducts, OperatorDefaultPrice, OperatorPricing, PricingProduct } from "./pricing.js";

/** A record Hubject sent that could not be read: skipped alone, counted and logged. */
export interface SkippedPricingRecord {
  id: string | null;
  reason: string;
}

export interface PricingSource {
  pullPricingProductData(
    operatorIds: readonly string[],
    lastCall: Date | null,
  ): Promise<{ operators: OperatorPricing[]; skipped: SkippedPricingRecord[] }>;
  pullEvsePricing(
    operatorIds: readonly string[],
    lastCall: Date | null,
  ): Promise<{ evses: EvseProducts[]; skipped: SkippedPricingRecord[] }>;
}

export type PricingPull = "pricing-products" | "evse-pricing";

export interface PricingSyncState {
  lastCall: Date | null;
  lastFullAt: Date | null;
}

/** A full load replaces the named operators' data; `recordSync` (the last batch of a run) moves LastCall to `at`. */
export interface SaveMode {
  full: boolean;
  operatorIds: readonly string[];
  at: Date;
  recordSync: boolean;
}

export interface PricingStore {
  syncState(pull: PricingPull): Promise<PricingSyncState>;
  /** Replaces what is stored for these operators (a full load) or adds to it (a delta), and records the sync, in one transaction. */
  saveProducts(operators: OperatorPricing[], mode: SaveMode): Promise<void>;
  saveEvseProducts(evses: EvseProducts[], mode: SaveMode): Promise<void>;
  /** For each EVSE: its products for these ProviderIDs (ours and "*"), with their prices; an EVSE without pricing data is absent. */
  productsAt(evseIds: readonly string[], providerIds: readonly string[]): Promise<Map<string, PricingProduct[]>>;
  /** Whether any pricing data names this EVSE at all (for any ProviderID). */
  hasPricing(evseId: string): Promise<boolean>;
  defaultPrice(operatorId: string, providerIds: readonly string[]): Promise<OperatorDefaultPrice | null>;
}

/** The operators whose prices are pulled (OperatorIDs is mandatory in both requests). */
export type PricingOperators = () => Promise<string[]>;
