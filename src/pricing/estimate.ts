// What a session costs at a product's prices, in exact decimals (decimal.js), never a float.
//
//   quantity  = energy in kWh (KILOWATT_HOUR), or the charging time in hours (HOUR) or minutes (MINUTE),
//               the charging time being ChargingStart → ChargingEnd (for a live session: → now)
//   amount    = PricePerReferenceUnit × quantity
//             + every START FEE and FIXED FEE, once
//             + every PARKING FEE × the parking time in its unit (HOUR or MINUTE): the plug-in period
//               (SessionStart → SessionEnd, or now) less the charging time, never below zero
//   then      at least the MINIMUM FEE, at most the MAXIMUM FEE,
//   rounded   half up to 2 decimals (the currency's cents).
//
// Without a product (no PartnerProductID), the operator's default price (PricingDefaultPrice per
// PricingDefaultReferenceUnit) applies, without fees. Unknown additional references are left out.
import { Decimal } from "decimal.js";
import type { Money, OperatorDefaultPrice, PricingProduct, ReferenceUnit } from "./pricing.js";

export interface SessionFigures {
  /** Exact decimal kWh, or null when not known yet. */
  energyKwh: string | null;
  chargingStart: Date | null;
  chargingEnd: Date | null;
  sessionStart: Date | null;
  sessionEnd: Date | null;
}

const MS_PER: Record<ReferenceUnit, number | null> = { HOUR: 3_600_000, MINUTE: 60_000, KILOWATT_HOUR: null };

function quantity(unit: ReferenceUnit, energyKwh: Decimal, ms: number): Decimal {
  const per = MS_PER[unit];
  return per === null ? energyKwh : new Decimal(Math.max(0, ms)).div(per);
}

/** The cost of the figures at a product's prices (or the operator's default); `now` ends a live session. */
export function estimateCost(price: PricingProduct | OperatorDefaultPrice, figures: SessionFigures, now: Date): Money {
  const energy = new Decimal(figures.energyKwh ?? "0");
  const chargingMs = span(figures.chargingStart, figures.chargingEnd, now);
  if (!("productId" in price)) {
    const amount = new Decimal(price.price).times(quantity(price.referenceUnit, energy, chargingMs));
    return { amount: round(amount), currency: price.currency };
  }
  let amount = new Decimal(price.pricePerReferenceUnit).times(quantity(price.referenceUnit, energy, chargingMs));
  const plugged = span(figures.sessionStart ?? figures.chargingStart, figures.sessionEnd ?? figures.chargingEnd, now);
  const parkingMs = Math.max(0, plugged - chargingMs);
  for (const ref of price.additionalReferences) {
    if (ref.kind === "START FEE" || ref.kind === "FIXED FEE") amount = amount.plus(ref.pricePerUnit);
    else if (ref.kind === "PARKING FEE" && MS_PER[ref.unit] !== null) {
      amount = amount.plus(new Decimal(ref.pricePerUnit).times(quantity(ref.unit, energy, parkingMs)));
    }
  }
  for (const ref of price.additionalReferences) {
    if (ref.kind === "MINIMUM FEE") amount = Decimal.max(amount, ref.pricePerUnit);
  }
  for (const ref of price.additionalReferences) {
    if (ref.kind === "MAXIMUM FEE") amount = Decimal.min(amount, ref.pricePerUnit);
  }
  return { amount: round(amount), currency: price.currency };
}

function span(start: Date | null, end: Date | null, now: Date): number {
  if (start === null) return 0;
  return Math.max(0, (end ?? now).getTime() - start.getTime());
}

const round = (amount: Decimal): string => amount.toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toFixed(2);
