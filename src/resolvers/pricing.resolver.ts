// Prices at an EVSE and a session's cost (src/pricing): thin field resolvers; the EVSEs of one
// request are read in one store query (the request's DataLoader, server/context.ts).
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { PricingProduct } from "../pricing/pricing.js";
import { ChargingSession } from "../schema/charging-session.type.js";
import { Evse } from "../schema/evse.type.js";
import { EvsePrice, Money } from "../schema/price.type.js";
import type { GatewayContext } from "../server/context.js";
import type { ChargingSession as Session } from "../sessions/session.js";

const toPrice = (p: PricingProduct): EvsePrice => ({
  productId: p.productId,
  referenceUnit: p.referenceUnit,
  pricePerReferenceUnit: p.pricePerReferenceUnit,
  currency: p.currency,
  maximumPowerKw: p.maximumPowerKw,
  validAllDay: p.isValid24Hours,
  availability: p.availability.map((a) => ({ on: a.on, periods: a.periods.map((x) => `${x.begin}-${x.end}`) })),
  additionalReferences: p.additionalReferences.map((r) => ({ kind: r.kind, unit: r.unit, pricePerUnit: r.pricePerUnit })),
  offeredTo: p.providerId,
});

@Resolver(() => Evse)
export class EvsePricesResolver {
  @FieldResolver(() => [EvsePrice], { description: "The EMP's products at this EVSE with their prices; empty when none is known." })
  async prices(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<EvsePrice[]> {
    if (!ctx.prices) return [];
    return (await ctx.prices.load(evse.id)).map(toPrice);
  }
}

@Resolver(() => ChargingSession)
export class SessionCostResolver {
  @FieldResolver(() => Money, {
    nullable: true,
    description:
      "For a live session: what its energy and time so far cost at its product's price (the operator's default price without a product). Null when no price is known or the session is not live.",
  })
  async estimatedCost(@Root() s: Session, @Ctx() ctx: GatewayContext): Promise<Money | null> {
    if (!ctx.pricing || !["ACCEPTED", "CHARGING", "STOP_REQUESTED", "CHARGING_ENDED"].includes(s.status)) return null;
    return ctx.pricing.cost(s.evseId, s.partnerProductId, {
      energyKwh: s.consumedEnergyKwh,
      chargingStart: s.chargingStartedAt,
      chargingEnd: s.chargingEndedAt,
      sessionStart: s.sessionStartedAt,
      sessionEnd: s.sessionEndedAt,
    });
  }

  @FieldResolver(() => Money, {
    nullable: true,
    description: "For a completed session: what its CDR's energy and times cost at the product's price. Null when no price is known.",
  })
  async cost(@Root() s: Session, @Ctx() ctx: GatewayContext): Promise<Money | null> {
    const cdr = s.chargeDetailRecord;
    if (!ctx.pricing || s.status !== "COMPLETED" || !cdr || cdr.consumedEnergyKwh === null) return null;
    return ctx.pricing.cost(cdr.evseId ?? s.evseId, cdr.partnerProductId ?? s.partnerProductId, {
      energyKwh: cdr.consumedEnergyKwh,
      chargingStart: cdr.chargingStart,
      chargingEnd: cdr.chargingEnd,
      sessionStart: cdr.sessionStart,
      sessionEnd: cdr.sessionEnd,
    });
  }
}
