// OICP decimals (docs/oicp.md#decimals): energy and meter values are decimal(,3) kWh and end up on
// an invoice, so they are read exactly, as decimal strings, never through a binary float. Bodies are
// parsed with lossless-json (parseOicpJson), which keeps every JSON number as the text it was sent
// as. What Hubject lets through beyond the spec is read and said: a number sent as a string,
// a decimal comma ("21,343"), exponent notation ("1.234567e3").
import { isLosslessNumber, parse as parseLossless } from "lossless-json";
import { canonicalDecimal } from "../../lib/decimal.js";

export type DecimalRepair = "number-as-string" | "decimal-comma" | "exponent";

export type DecimalRead = { ok: true; value: string; repairs: DecimalRepair[] } | { ok: false; problem: string };

/** JSON as sent, with every number kept exactly (a LosslessNumber, whose `value` is its text). */
export function parseOicpJson(text: string): unknown {
  return parseLossless(text.replace(/^\uFEFF/, ""));
}

const PLAIN = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const WITH_EXPONENT = /^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$/;
const WITH_COMMA = /^[+-]?\d+,\d+$/;

/** A decimal from a JSON number (exact, from parseOicpJson), a plain number, or a numeric string. */
export function readOicpDecimal(value: unknown): DecimalRead {
  let text: string;
  const repairs: DecimalRepair[] = [];
  if (isLosslessNumber(value)) text = value.value;
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) return { ok: false, problem: "not a finite number" };
    text = String(value);
  } else if (typeof value === "string") {
    text = value.trim();
    repairs.push("number-as-string");
    if (WITH_COMMA.test(text)) {
      text = text.replace(",", ".");
      repairs.push("decimal-comma");
    }
  } else return { ok: false, problem: "not a number" };

  if (WITH_EXPONENT.test(text)) {
    repairs.push("exponent");
    return { ok: true, value: canonicalDecimal(text), repairs };
  }
  if (!PLAIN.test(text)) return { ok: false, problem: `"${text.slice(0, 40)}" is not a decimal number` };
  // Kept as written ("8.000" stays "8.000": its precision is part of what the charger said).
  return { ok: true, value: text.replace(/^\+/, "").replace(/^(-?)\./, "$10."), repairs };
}
