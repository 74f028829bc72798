// The JSON form of a charge detail record and the field readers behind it: one format for the
// session store's column and for the Redis wire, so both read and write a CDR the same way.
// Dates travel as ISO-8601 UTC strings; kWh stay decimal strings; `raw` is the CPO's JSON.
import type { AnomalyKind, ChargeDetailRecord, ChargerOffsets, FigureAnomaly } from "./session.js";

export type WireValue<V> = V extends Date ? string : V extends Date | null ? string | null : V extends ChargeDetailRecord ? WireCdr : V;
export type WireCdr = { [K in keyof ChargeDetailRecord]: WireValue<ChargeDetailRecord[K]> };

export class WireError extends Error {}

export function iso(value: Date): string {
  // An invalid Date has no ISO form: refuse it here rather than send a message nobody can read.
  return value.toISOString();
}
export const isoOrNull = (value: Date | null): string | null => (value === null ? null : iso(value));

export function record(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new WireError(`${field}: not an object`);
  return value as Record<string, unknown>;
}
export function str(w: Record<string, unknown>, field: string, at = ""): string {
  const value = w[field];
  if (typeof value !== "string") throw new WireError(`${at}${field}: not a string`);
  return value;
}
export function strOrNull(w: Record<string, unknown>, field: string, at = ""): string | null {
  return w[field] === null ? null : str(w, field, at);
}
export function date(w: Record<string, unknown>, field: string, at = ""): Date {
  const value = new Date(str(w, field, at));
  if (Number.isNaN(value.getTime())) throw new WireError(`${at}${field}: not a date`);
  return value;
}
export function dateOrNull(w: Record<string, unknown>, field: string, at = ""): Date | null {
  return w[field] === null ? null : date(w, field, at);
}

export function cdrToWire(c: ChargeDetailRecord): WireCdr {
  return {
    hubjectSessionId: c.hubjectSessionId,
    evseId: c.evseId,
    evcoId: c.evcoId,
    partnerProductId: c.partnerProductId,
    sessionStart: isoOrNull(c.sessionStart),
    sessionEnd: isoOrNull(c.sessionEnd),
    chargingStart: isoOrNull(c.chargingStart),
    chargingEnd: isoOrNull(c.chargingEnd),
    consumedEnergyKwh: c.consumedEnergyKwh,
    meterValueStart: c.meterValueStart,
    meterValueEnd: c.meterValueEnd,
    offsets: c.offsets,
    anomalies: c.anomalies,
    receivedAt: iso(c.receivedAt),
    raw: c.raw,
  };
}

export function cdrFromWire(w: Record<string, unknown>): ChargeDetailRecord {
  const at = "chargeDetailRecord.";
  return {
    hubjectSessionId: str(w, "hubjectSessionId", at),
    evseId: str(w, "evseId", at),
    evcoId: strOrNull(w, "evcoId", at),
    partnerProductId: strOrNull(w, "partnerProductId", at),
    sessionStart: dateOrNull(w, "sessionStart", at),
    sessionEnd: dateOrNull(w, "sessionEnd", at),
    chargingStart: dateOrNull(w, "chargingStart", at),
    chargingEnd: dateOrNull(w, "chargingEnd", at),
    consumedEnergyKwh: strOrNull(w, "consumedEnergyKwh", at),
    meterValueStart: strOrNull(w, "meterValueStart", at),
    meterValueEnd: strOrNull(w, "meterValueEnd", at),
    offsets: offsetsFromWire(w.offsets),
    anomalies: anomaliesFromWire(w.anomalies),
    receivedAt: date(w, "receivedAt", at),
    raw: record(w.raw, `${at}raw`),
  };
}

const ANOMALY_KINDS: readonly AnomalyKind[] = ["MISSING", "REPAIRED", "NO_OFFSET", "IMPLAUSIBLE"];

/** Anomalies as stored or sent; absent (records written before they existed) reads as none. */
export function anomaliesFromWire(value: unknown): FigureAnomaly[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new WireError("anomalies: not a list");
  return value.map((entry, i) => {
    const a = record(entry, `anomalies[${i}]`);
    const kind = str(a, "kind", `anomalies[${i}].`);
    if (!(ANOMALY_KINDS as readonly string[]).includes(kind)) throw new WireError(`anomalies[${i}].kind: unknown value`);
    return { field: str(a, "field", `anomalies[${i}].`), kind: kind as AnomalyKind, detail: str(a, "detail", `anomalies[${i}].`) };
  });
}

/** Offsets as stored or sent; absent reads as none known. */
export function offsetsFromWire(value: unknown): ChargerOffsets {
  if (value === undefined || value === null) return {};
  const w = record(value, "offsets");
  const offsets: ChargerOffsets = {};
  for (const field of ["chargingStart", "chargingEnd", "sessionStart", "sessionEnd"] as const) {
    if (w[field] !== undefined) offsets[field] = strOrNull(w, field, "offsets.");
  }
  return offsets;
}
