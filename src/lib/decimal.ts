// Exact decimal arithmetic for energy, meter values and money (decimal.js): decimals travel as
// strings in canonical form and are never turned into binary floats for a calculation.
import { Decimal } from "decimal.js";

/** "+021.3400" -> "21.34", "1.234567e3" -> "1234.567", "-0" -> "0": one spelling per value. */
export function canonicalDecimal(text: string): string {
  return new Decimal(text).toFixed();
}

/** Negative, zero or positive, as a is below, equal to or above b. */
export function compareDecimals(a: string, b: string): number {
  return new Decimal(a).comparedTo(new Decimal(b));
}

export const isNegativeDecimal = (a: string): boolean => new Decimal(a).isNegative() && !new Decimal(a).isZero();

export function subtractDecimals(a: string, b: string): string {
  return new Decimal(a).minus(new Decimal(b)).toFixed();
}

/** The larger of two decimals; null counts as absent. */
export function maxDecimal(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareDecimals(a, b) >= 0 ? a : b;
}
