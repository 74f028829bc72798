// Row <-> domain for the SQL store: the only place that knows the column encodings (ISO text
// timestamps, JSON text, decimal strings) and writes the comparison keys next to the identifiers.
import type { Selectable } from "kysely";
import { evcoIdKey, evseIdKey, sessionIdKey } from "../../oicp/wire/identifiers.js";
import { type ChargingSession, type FiguresSource, SESSION_STATUSES, type SessionOrigin, type StatusCode } from "../../sessions/session.js";
import { anomaliesFromWire, cdrFromWire, cdrToWire, offsetsFromWire, record } from "../../sessions/session.json.js";
import type { InboundMessage, InboundState, NewSession, StoredInboundMessage } from "../../sessions/session.store.js";
import type { ChargingSessionsTable, InboundMessagesTable } from "./tables.js";

export type SessionRow = Selectable<ChargingSessionsTable>;
export type InboundRow = Selectable<InboundMessagesTable>;

/** A new session row: version 1, nothing heard yet. */
export function newSession(input: NewSession): ChargingSession {
  return {
    id: input.id,
    driverId: input.driverId,
    origin: input.origin ?? "APP",
    hubjectSessionId: input.hubjectSessionId ?? null,
    cpoPartnerSessionId: null,
    evseId: input.evseId,
    evcoId: input.evcoId,
    partnerProductId: input.partnerProductId,
    status: input.status,
    lastStatusCode: null,
    requestedAt: input.requestedAt,
    chargingStartedAt: null,
    chargingEndedAt: null,
    sessionStartedAt: null,
    sessionEndedAt: null,
    stopRequestedAt: null,
    updatedAt: input.requestedAt,
    consumedEnergyKwh: null,
    lastProgressAt: null,
    lastEventAt: null,
    figuresSource: null,
    errorType: null,
    errorInfo: null,
    chargeDetailRecord: null,
    offsets: {},
    anomalies: [],
    identificationId: input.identificationId ?? null,
    stopIdentificationId: null,
    version: 1,
  };
}

export const toIso = (date: Date): string => {
  if (Number.isNaN(date.getTime())) throw new RangeError("Cannot store an invalid Date");
  return date.toISOString();
};
export const toIsoOrNull = (date: Date | null): string | null => (date === null ? null : toIso(date));

export const fromIso = (value: string, column: string): Date => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`Stored ${column} is not a timestamp: ${JSON.stringify(value)}`);
  return date;
};
export const fromIsoOrNull = (value: string | null, column: string): Date | null => (value === null ? null : fromIso(value, column));

/** JSON columns are text today; accepting an already parsed value keeps a later jsonb column working. */
const parseJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);

export function sessionToRow(s: ChargingSession): SessionRow {
  return {
    id: s.id,
    driver_id: s.driverId,
    origin: s.origin,
    hubject_session_id: s.hubjectSessionId,
    cpo_partner_session_id: s.cpoPartnerSessionId,
    evse_id: s.evseId,
    evco_id: s.evcoId,
    partner_product_id: s.partnerProductId,
    status: s.status,
    last_status_code: s.lastStatusCode === null ? null : JSON.stringify(s.lastStatusCode),
    requested_at: toIso(s.requestedAt),
    charging_started_at: toIsoOrNull(s.chargingStartedAt),
    charging_ended_at: toIsoOrNull(s.chargingEndedAt),
    session_started_at: toIsoOrNull(s.sessionStartedAt),
    session_ended_at: toIsoOrNull(s.sessionEndedAt),
    stop_requested_at: toIsoOrNull(s.stopRequestedAt),
    updated_at: toIso(s.updatedAt),
    consumed_energy_kwh: s.consumedEnergyKwh,
    last_progress_at: toIsoOrNull(s.lastProgressAt),
    last_event_at: toIsoOrNull(s.lastEventAt),
    figures_source: s.figuresSource,
    error_type: s.errorType,
    error_info: s.errorInfo,
    charge_detail_record: s.chargeDetailRecord === null ? null : JSON.stringify(cdrToWire(s.chargeDetailRecord)),
    version: s.version,
    hubject_session_key: s.hubjectSessionId === null ? null : sessionIdKey(s.hubjectSessionId),
    evse_key: evseIdKey(s.evseId),
    evco_key: evcoIdKey(s.evcoId),
    offsets: Object.keys(s.offsets).length === 0 ? null : JSON.stringify(s.offsets),
    anomalies: s.anomalies.length === 0 ? null : JSON.stringify(s.anomalies),
    identification_id: s.identificationId,
    stop_identification_id: s.stopIdentificationId,
  };
}

export function rowToSession(r: SessionRow): ChargingSession {
  if (!SESSION_STATUSES.includes(r.status)) throw new Error(`Session ${r.id} has an unknown status ${JSON.stringify(r.status)}`);
  return {
    id: r.id,
    driverId: r.driver_id,
    origin: r.origin as SessionOrigin,
    hubjectSessionId: r.hubject_session_id,
    cpoPartnerSessionId: r.cpo_partner_session_id,
    evseId: r.evse_id,
    evcoId: r.evco_id,
    partnerProductId: r.partner_product_id,
    status: r.status,
    lastStatusCode: r.last_status_code === null ? null : (parseJson(r.last_status_code) as StatusCode),
    requestedAt: fromIso(r.requested_at, "requested_at"),
    chargingStartedAt: fromIsoOrNull(r.charging_started_at, "charging_started_at"),
    chargingEndedAt: fromIsoOrNull(r.charging_ended_at, "charging_ended_at"),
    sessionStartedAt: fromIsoOrNull(r.session_started_at, "session_started_at"),
    sessionEndedAt: fromIsoOrNull(r.session_ended_at, "session_ended_at"),
    stopRequestedAt: fromIsoOrNull(r.stop_requested_at, "stop_requested_at"),
    updatedAt: fromIso(r.updated_at, "updated_at"),
    consumedEnergyKwh: r.consumed_energy_kwh,
    lastProgressAt: fromIsoOrNull(r.last_progress_at, "last_progress_at"),
    lastEventAt: fromIsoOrNull(r.last_event_at, "last_event_at"),
    figuresSource: r.figures_source as FiguresSource | null,
    errorType: r.error_type,
    errorInfo: r.error_info,
    chargeDetailRecord:
      r.charge_detail_record === null ? null : cdrFromWire(record(parseJson(r.charge_detail_record), "charge_detail_record")),
    offsets: offsetsFromWire(parseJson(r.offsets)),
    anomalies: anomaliesFromWire(parseJson(r.anomalies)),
    identificationId: r.identification_id ?? null,
    stopIdentificationId: r.stop_identification_id ?? null,
    // PostgreSQL drivers may hand integers back as strings or bigints.
    version: Number(r.version),
  };
}

const INBOUND_STATES: readonly InboundState[] = ["received", "applied", "waiting", "duplicate", "conflict", "mismatch", "rejected"];

export function inboundToRow(m: InboundMessage): Omit<InboundRow, "seq"> {
  return {
    kind: m.kind,
    source: m.source,
    operator_id: m.operatorId,
    type: m.type,
    hubject_session_id: m.hubjectSessionId,
    hubject_session_key: m.hubjectSessionId === null ? null : sessionIdKey(m.hubjectSessionId),
    emp_partner_session_id: m.empPartnerSessionId,
    evse_id: m.evseId,
    evse_key: m.evseId === null ? null : evseIdKey(m.evseId),
    evco_id: m.evcoId,
    dedupe_key: m.dedupeKey,
    content_hash: m.contentHash,
    body: m.text,
    received_at: toIso(m.receivedAt),
    session_id: null,
    state: m.state,
    problem: m.problem,
    anomalies: m.anomalies.length === 0 ? null : JSON.stringify(m.anomalies),
    duplicate_of: m.duplicateOf,
  };
}

export function rowToInbound(r: InboundRow): StoredInboundMessage {
  if (r.kind !== "NOTIFICATION" && r.kind !== "CDR") throw new Error(`Inbound message ${r.seq} has an unknown kind ${r.kind}`);
  if (!(INBOUND_STATES as readonly string[]).includes(r.state)) throw new Error(`Inbound message ${r.seq} has an unknown state ${r.state}`);
  return {
    seq: Number(r.seq),
    kind: r.kind,
    source: r.source === "backfill" ? "backfill" : "push",
    text: r.body,
    operatorId: r.operator_id,
    receivedAt: fromIso(r.received_at, "received_at"),
    type: r.type,
    hubjectSessionId: r.hubject_session_id,
    empPartnerSessionId: r.emp_partner_session_id,
    evseId: r.evse_id,
    evcoId: r.evco_id,
    dedupeKey: r.dedupe_key,
    contentHash: r.content_hash,
    state: r.state as InboundState,
    problem: r.problem,
    anomalies: anomaliesFromWire(parseJson(r.anomalies)),
    duplicateOf: r.duplicate_of === null ? null : Number(r.duplicate_of),
    sessionId: r.session_id,
  };
}
