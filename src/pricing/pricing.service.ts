// The pricing use cases the API and the session commands see: an EVSE's products with their
// prices, whether a product is offered at an EVSE, and what a session costs.
import { estimateCost, type SessionFigures } from "./estimate.js";
import type { PricingStore } from "./ports.js";
import type { Money, PricingProduct } from "./pricing.js";

export type ProductOffer = "offered" | "not-offered" | "unknown";

export class PricingService {
  /** The ProviderIDs whose offers apply to us: our own and "*" (offered to all EMPs). */
  private readonly providerIds: string[];

  constructor(private readonly deps: { store: PricingStore; providerId: string; clock?: () => Date }) {
    this.providerIds = [deps.providerId, "*"];
  }

  /** The EMP's products at each EVSE, with their prices; [] for an EVSE without pricing data. Batched. */
  async productsAt(evseIds: readonly string[]): Promise<PricingProduct[][]> {
    const found = await this.deps.store.productsAt(evseIds, this.providerIds);
    return evseIds.map((id) => found.get(id) ?? []);
  }

  /** "unknown" when no pricing data names the EVSE at all: the start goes on as without prices. */
  async isOffered(evseId: string, productId: string): Promise<ProductOffer> {
    if (!(await this.deps.store.hasPricing(evseId))) return "unknown";
    const [products] = await this.productsAt([evseId]);
    return products?.some((p) => p.productId === productId) ? "offered" : "not-offered";
  }

  /**
   * What the figures cost at the EVSE: with its product when one is named, else at the operator's
   * default price. Null when no price is known (formula: estimate.ts).
   */
  async cost(evseId: string, productId: string | null, figures: SessionFigures): Promise<Money | null> {
    const now = this.deps.clock?.() ?? new Date();
    if (productId) {
      const [products] = await this.productsAt([evseId]);
      const product = products?.find((p) => p.productId === productId);
      return product ? estimateCost(product, figures, now) : null;
    }
    const operatorId = operatorOf(evseId);
    const defaults = operatorId ? await this.deps.store.defaultPrice(operatorId, this.providerIds) : null;
    return defaults ? estimateCost(defaults, figures, now) : null;
  }
}

/** "DE*SIM*E0001*1" → "DE*SIM"; the first two parts of an EvseID are its operator (docs/oicp.md#identifiers). */
export function operatorOf(evseId: string): string | null {
  const match = /^([A-Za-z]{2})\*?([A-Za-z0-9]{3})/.exec(evseId.trim());
  return match ? `${match[1]}*${match[2]}` : null;
}
