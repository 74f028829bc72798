import { spanContextFromTraceHeaders, traceHeadersOf } from "../observability/tracing-context.js";
import { type ChargingSession, type FiguresSource, SESSION_STATUSES, type SessionOrigin, type StatusCode } from "../sessions/session.js";
import {
  anomaliesFromWire,
  cdrFromWire,
  cdrToWire,
  date,
  dateOrNull,
  iso,
  isoOrNull,
  offsetsFromWire,
  record,
  str,
  strOrNull,
  WireError,
  type WireValue,
} from "../sessions/session.json.js";
import type { SessionEnvelope } from "./fan-out.js";

// The wire format of a session change (used by the Redis adapter only; the in-process adapter
// passes objects)
//
//   {"format":1,"reannounce":false,"session":{...}}
//   {"format":1,"reannounce":false,"session":{...},"traceparent":"00-<trace-id>-<span-id>-01"}
//
// `traceparent` (and `tracestate`, when the trace has one) are W3C Trace Context values naming
// the span that published the change; they are only written with tracing on. Both are optional
// and additive: a reader that does not know them ignores them, one that finds them missing or
// malformed delivers the change without a trace. So `format` stays 1.
//
// `session` is a ChargingSession with every Date as an ISO-8601 UTC string with milliseconds
// ("2024-05-01T10:00:00.000Z"), in the session and in its chargeDetailRecord; everything else
// as it is (kWh stay decimal strings, chargeDetailRecord.raw is the CPO's JSON). A reader
// rebuilds the session field by field and drops (logs) a message it cannot read; a change of
// the format increments `format`.

export const SESSION_WIRE_FORMAT = 1;

export type WireSession = { [K in keyof ChargingSession]: WireValue<ChargingSession[K]> };
export interface WireEnvelope {
  format: typeof SESSION_WIRE_FORMAT;
  reannounce: boolean;
  session: WireSession;
  /** W3C traceparent of the span that published the change (tracing on). */
  traceparent?: string;
  tracestate?: string;
}

export function serializeSessionEnvelope(envelope: SessionEnvelope): string {
  const wire: WireEnvelope = { format: SESSION_WIRE_FORMAT, reannounce: envelope.reannounce, session: sessionToWire(envelope.session) };
  const trace = envelope.origin ? traceHeadersOf(envelope.origin) : undefined;
  if (trace) Object.assign(wire, trace);
  return JSON.stringify(wire);
}

export function deserializeSessionEnvelope(message: string): { envelope: SessionEnvelope } | { error: string } {
  try {
    const wire = record(JSON.parse(message), "message");
    if (wire.format !== SESSION_WIRE_FORMAT) return { error: `unknown format ${JSON.stringify(wire.format)}` };
    if (typeof wire.reannounce !== "boolean") return { error: "reannounce: not a boolean" };
    const envelope: SessionEnvelope = { reannounce: wire.reannounce, session: sessionFromWire(record(wire.session, "session")) };
    // Tracing never costs a change: a missing or malformed traceparent only loses the link.
    if (typeof wire.traceparent === "string") {
      const origin = spanContextFromTraceHeaders(wire.traceparent, typeof wire.tracestate === "string" ? wire.tracestate : undefined);
      if (origin) envelope.origin = origin;
    }
    return { envelope };
  } catch (error) {
    return { error: error instanceof WireError || error instanceof SyntaxError ? error.message : "unreadable" };
  }
}

function sessionToWire(s: ChargingSession): WireSession {
  return {
    id: s.id,
    driverId: s.driverId,
    origin: s.origin,
    hubjectSessionId: s.hubjectSessionId,
    cpoPartnerSessionId: s.cpoPartnerSessionId,
    evseId: s.evseId,
    evcoId: s.evcoId,
    partnerProductId: s.partnerProductId,
    status: s.status,
    lastStatusCode: s.lastStatusCode && {
      code: s.lastStatusCode.code,
      description: s.lastStatusCode.description,
      additionalInfo: s.lastStatusCode.additionalInfo,
    },
    requestedAt: iso(s.requestedAt),
    chargingStartedAt: isoOrNull(s.chargingStartedAt),
    chargingEndedAt: isoOrNull(s.chargingEndedAt),
    sessionStartedAt: isoOrNull(s.sessionStartedAt),
    sessionEndedAt: isoOrNull(s.sessionEndedAt),
    stopRequestedAt: isoOrNull(s.stopRequestedAt),
    updatedAt: iso(s.updatedAt),
    consumedEnergyKwh: s.consumedEnergyKwh,
    lastProgressAt: isoOrNull(s.lastProgressAt),
    lastEventAt: isoOrNull(s.lastEventAt),
    figuresSource: s.figuresSource,
    errorType: s.errorType,
    errorInfo: s.errorInfo,
    chargeDetailRecord: s.chargeDetailRecord && cdrToWire(s.chargeDetailRecord),
    offsets: s.offsets,
    anomalies: s.anomalies,
    identificationId: s.identificationId,
    stopIdentificationId: s.stopIdentificationId,
    version: s.version,
  };
}

function sessionFromWire(w: Record<string, unknown>): ChargingSession {
  return {
    id: str(w, "id"),
    driverId: str(w, "driverId"),
    origin: oneOf(w, "origin", ORIGINS),
    hubjectSessionId: strOrNull(w, "hubjectSessionId"),
    cpoPartnerSessionId: strOrNull(w, "cpoPartnerSessionId"),
    evseId: str(w, "evseId"),
    evcoId: str(w, "evcoId"),
    partnerProductId: strOrNull(w, "partnerProductId"),
    status: oneOf(w, "status", SESSION_STATUSES),
    lastStatusCode: w.lastStatusCode === null ? null : statusCodeFromWire(record(w.lastStatusCode, "lastStatusCode")),
    requestedAt: date(w, "requestedAt"),
    chargingStartedAt: dateOrNull(w, "chargingStartedAt"),
    chargingEndedAt: dateOrNull(w, "chargingEndedAt"),
    sessionStartedAt: dateOrNull(w, "sessionStartedAt"),
    sessionEndedAt: dateOrNull(w, "sessionEndedAt"),
    stopRequestedAt: dateOrNull(w, "stopRequestedAt"),
    updatedAt: date(w, "updatedAt"),
    consumedEnergyKwh: strOrNull(w, "consumedEnergyKwh"),
    lastProgressAt: dateOrNull(w, "lastProgressAt"),
    lastEventAt: dateOrNull(w, "lastEventAt"),
    figuresSource: w.figuresSource === null ? null : oneOf(w, "figuresSource", FIGURES_SOURCES),
    errorType: strOrNull(w, "errorType"),
    errorInfo: strOrNull(w, "errorInfo"),
    chargeDetailRecord: w.chargeDetailRecord === null ? null : cdrFromWire(record(w.chargeDetailRecord, "chargeDetailRecord")),
    // Absent in messages from replicas that do not know them yet: additive, so `format` stays 1.
    offsets: offsetsFromWire(w.offsets),
    anomalies: anomaliesFromWire(w.anomalies),
    identificationId: w.identificationId == null ? null : str(w, "identificationId"),
    stopIdentificationId: w.stopIdentificationId == null ? null : str(w, "stopIdentificationId"),
    version: version(w, "version"),
  };
}

function statusCodeFromWire(w: Record<string, unknown>): StatusCode {
  return {
    code: str(w, "code", "lastStatusCode."),
    description: strOrNull(w, "description", "lastStatusCode."),
    additionalInfo: strOrNull(w, "additionalInfo", "lastStatusCode."),
  };
}

// Every value of the unions, checked by the compiler in both directions.
const ORIGINS = ["APP", "CHARGER"] as const satisfies readonly SessionOrigin[];
const FIGURES_SOURCES = ["NOTIFICATION", "CHARGE_DETAIL_RECORD", "EVSE_STATUS", "INFERRED"] as const satisfies readonly FiguresSource[];
type Covers<Union, Listed> = [Exclude<Union, Listed>] extends [never] ? true : false;
const coversAll: [Covers<SessionOrigin, (typeof ORIGINS)[number]>, Covers<FiguresSource, (typeof FIGURES_SOURCES)[number]>] = [true, true];
void coversAll;

function version(w: Record<string, unknown>, field: string): number {
  const value = w[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new WireError(`${field}: not a version`);
  return value;
}
function oneOf<T extends string>(w: Record<string, unknown>, field: string, values: readonly T[]): T {
  const value = str(w, field);
  if (!(values as readonly string[]).includes(value)) throw new WireError(`${field}: unknown value`);
  return value as T;
}
