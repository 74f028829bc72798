// Reading one message's fields the lenient way (docs/oicp.md#lenient-reading): what the spec calls
// mandatory but Hubject lets through is read when it is there and recorded as an anomaly when it
// is missing or had to be repaired; only what Hubject itself requires refuses the message. Each
// refusal names its field.
import { isLosslessNumber } from "lossless-json";
import { isRecord } from "../../../lib/json.js";
import type { ChargerOffsets, ChargerTimeField, FigureAnomaly } from "../../../sessions/session.js";
import { readOicpDateTime } from "../../wire/datetime.js";
import { readOicpDecimal } from "../../wire/decimal.js";

/** A required field is missing or unusable: the message cannot be used at all. */
export class Refusal extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`Field '${field}': ${reason}`.slice(0, 1000));
  }
}

const REPAIRS = {
  "number-as-string": "a number sent as a string",
  "decimal-comma": "a decimal comma",
  exponent: "exponent notation",
} as const;

export class FieldReader {
  readonly anomalies: FigureAnomaly[] = [];
  readonly offsets: ChargerOffsets = {};

  constructor(readonly body: Record<string, unknown>) {}

  /** Absent, null and "" all mean "not sent". */
  present(field: string): boolean {
    const value = this.body[field];
    return value !== undefined && value !== null && value !== "";
  }

  requiredString(field: string, pattern?: RegExp, what?: string): string {
    const value = this.body[field];
    if (typeof value !== "string" || value.trim() === "")
      throw new Refusal(field, value === undefined || value === null ? "missing" : "must be a string");
    const trimmed = value.trim();
    if (pattern && !pattern.test(trimmed)) throw new Refusal(field, `not an OICP ${what ?? field}`);
    return trimmed;
  }

  /** A free string; a number is taken as its text. Longer than `max`: kept, and said. */
  optionalString(field: string, max?: number): string | null {
    const value = this.body[field];
    const text = typeof value === "string" ? value : typeof value === "number" || isLosslessNumber(value) ? String(value) : null;
    if (text === null || text.trim() === "") return null;
    if (max !== undefined && text.length > max) this.note(field, "REPAIRED", `longer than the ${max} characters OICP allows; kept as sent`);
    return text;
  }

  /** A date-time Hubject requires: missing or impossible refuses the message. */
  requiredTime(field: string, as?: ChargerTimeField): Date {
    if (!this.present(field)) throw new Refusal(field, "missing");
    const at = this.time(field, as, true);
    if (at === null) throw new Refusal(field, "not a date-time");
    return at;
  }

  /** A date-time that may be missing (said when `expected`); an impossible one is withheld and said. */
  optionalTime(field: string, as?: ChargerTimeField, expected = false): Date | null {
    if (!this.present(field)) {
      if (expected) this.note(field, "MISSING", "not sent");
      return null;
    }
    return this.time(field, as, false);
  }

  /** A decimal (kWh): missing or unreadable leaves it empty (said when `expected`); repairs are said. */
  decimal(field: string, expected = false): string | null {
    if (!this.present(field)) {
      if (expected) this.note(field, "MISSING", "not sent");
      return null;
    }
    const read = readOicpDecimal(this.body[field]);
    if (!read.ok) {
      this.note(field, "MISSING", `could not be read: ${read.problem}`);
      return null;
    }
    if (read.repairs.length > 0) this.note(field, "REPAIRED", `read from ${read.repairs.map((r) => REPAIRS[r]).join(" and ")}`);
    return read.value;
  }

  /** A list of decimals in an object (MeterValueInBetween: {"meterValues":[…]}); unreadable entries are skipped and said. */
  decimalList(field: string, key: string): string[] {
    const node = this.body[field];
    if (node === undefined || node === null) return [];
    const list = isRecord(node) ? node[key] : Array.isArray(node) ? node : null;
    if (!Array.isArray(list)) {
      this.note(field, "MISSING", `not a {"${key}": [...]} object`);
      return [];
    }
    const values: string[] = [];
    for (const entry of list) {
      const read = readOicpDecimal(entry);
      if (read.ok) values.push(read.value);
      else this.note(field, "MISSING", `an entry could not be read: ${read.problem}`);
    }
    return values;
  }

  note(field: string, kind: FigureAnomaly["kind"], detail: string): void {
    this.anomalies.push({ field, kind, detail });
  }

  private time(field: string, as: ChargerTimeField | undefined, required: boolean): Date | null {
    const value = this.body[field];
    if (typeof value !== "string") {
      if (required) throw new Refusal(field, "must be a date-time string");
      this.note(field, "IMPLAUSIBLE", "not a date-time string; left out");
      return null;
    }
    const read = readOicpDateTime(value);
    if (!read.ok) {
      if (required) throw new Refusal(field, read.problem);
      this.note(field, "IMPLAUSIBLE", `${read.problem}; left out`);
      return null;
    }
    if (read.value.offset === null) this.note(field, "NO_OFFSET", "sent without a UTC offset; read as UTC (docs/oicp.md#datetime)");
    if (as) this.offsets[as] = read.value.offset;
    return read.value.at;
  }
}

/** The body as plain JSON (exact numbers turned into numbers): the record "as the CPO sent it" for display. */
export function plainJson(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainJson(v)]));
  return value;
}
