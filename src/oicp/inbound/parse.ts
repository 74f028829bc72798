// Parses what Hubject sends us (charging notifications, CDRs) into domain events.
// Lenient on input (docs/oicp.md#lenient-reading): unknown fields, explicit nulls, numbers in strings,
// "Connector Error" with a space (E9), HubProviderId (E5). Strict on what it produces.
import { z } from "zod";
import { asRecord } from "../../lib/json.js";
import type { InboundIds, InboundReader, InboundReadResult } from "../../sessions/ports.js";
import type { ChargeDetailRecord, SessionEvent } from "../../sessions/session.js";
import { EVSE_ID, PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX, SESSION_ID } from "../wire/identifiers.js";

const text = (max?: number) => (max ? z.string().max(max) : z.string()).nullish().transform((v) => v ?? null);
const dateTime = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), { message: "not a date-time" })
  .transform((v) => new Date(v));
const optionalDateTime = dateTime.nullish().transform((v) => v ?? null);
/** Decimal(,3) kWh, as a number or a numeric string: kept as a decimal string. */
const decimal = z
  .union([z.number().finite(), z.string().regex(/^\s*-?\d+(\.\d+)?\s*$/)])
  .transform((v) => (typeof v === "number" ? String(v) : v.trim()));
const optionalDecimal = decimal.nullish().transform((v) => v ?? null);
const identification = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((v) => v ?? null);

const ERROR_TYPES = ["ConnectorError", "CriticalError"] as const;

const common = {
  SessionID: z.string().regex(SESSION_ID, "not an OICP SessionID"),
  CPOPartnerSessionID: text(PARTNER_SESSION_ID_MAX),
  EMPPartnerSessionID: text(PARTNER_SESSION_ID_MAX),
  EvseID: z.string().regex(EVSE_ID, "not an OICP EvseID"),
  Identification: identification,
  PartnerProductID: text(PRODUCT_ID_MAX),
};

const notificationSchema = z.discriminatedUnion("Type", [
  z.object({ Type: z.literal("Start"), ...common, ChargingStart: optionalDateTime, SessionStart: optionalDateTime }),
  z.object({
    Type: z.literal("Progress"),
    ...common,
    ChargingStart: optionalDateTime,
    SessionStart: optionalDateTime,
    EventOccurred: dateTime,
    ConsumedEnergyProgress: optionalDecimal,
  }),
  z.object({
    Type: z.literal("End"),
    ...common,
    ChargingStart: optionalDateTime,
    SessionStart: optionalDateTime,
    ChargingEnd: dateTime,
    SessionEnd: optionalDateTime,
    ConsumedEnergy: optionalDecimal,
  }),
  z.object({
    Type: z.literal("Error"),
    ...common,
    // An OICP enum; "Connector Error" (SPEC snippet, SAP) and "ConnectorError" (SPEC table) are the
    // same (docs/oicp.md#e9), so spaces and case are ignored and the canonical spelling is kept.
    ErrorType: z
      .string()
      .transform((v) => ERROR_TYPES.find((t) => t.toLowerCase() === v.replace(/\s+/g, "").toLowerCase()))
      .pipe(z.enum(ERROR_TYPES, "must be ConnectorError or CriticalError")),
    ErrorAdditionalInfo: text(),
  }),
]);

const cdrSchema = z.object({
  ...common,
  Identification: identification,
  ChargingStart: dateTime,
  ChargingEnd: dateTime,
  SessionStart: dateTime,
  SessionEnd: dateTime,
  ConsumedEnergy: decimal,
  MeterValueStart: optionalDecimal,
  MeterValueEnd: optionalDecimal,
});

export type ParseResult = InboundReadResult;

/** The contract id in any Identification variant; RFID cards carry none (docs/oicp.md#charger-sessions). */
function evcoIdOf(identification: Record<string, unknown> | null): string | null {
  if (!identification) return null;
  for (const variant of ["RemoteIdentification", "PlugAndChargeIdentification", "QRCodeIdentification"]) {
    const value = identification[variant];
    if (value && typeof value === "object" && "EvcoID" in value && typeof value.EvcoID === "string") return value.EvcoID;
  }
  return null;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid payload";
  const field = issue.path.join(".") || "body";
  return `Field '${field}': ${issue.message}`.slice(0, 1000);
}

export function parseChargingNotification(body: unknown, receivedAt: Date): ParseResult {
  const parsed = notificationSchema.safeParse(body);
  if (!parsed.success) {
    const type = asRecord(body).Type;
    if (!["Start", "Progress", "End", "Error"].includes(String(type))) {
      return { ok: false, problem: "Field 'Type' missing or not one of Start, Progress, End, Error" };
    }
    return { ok: false, problem: describe(parsed.error) };
  }
  const n = parsed.data;
  const ids: InboundIds = {
    hubjectSessionId: n.SessionID,
    empPartnerSessionId: n.EMPPartnerSessionID,
    cpoPartnerSessionId: n.CPOPartnerSessionID,
    evseId: n.EvseID,
    evcoId: evcoIdOf(n.Identification),
  };
  const base = { at: receivedAt, hubjectSessionId: n.SessionID, cpoPartnerSessionId: n.CPOPartnerSessionID };
  let event: SessionEvent;
  let occurrence: string;
  switch (n.Type) {
    case "Start":
      event = { type: "CHARGING_STARTED", ...base, chargingStart: n.ChargingStart, sessionStart: n.SessionStart };
      occurrence = n.ChargingStart?.toISOString() ?? "";
      break;
    case "Progress":
      event = {
        type: "CHARGING_PROGRESS",
        ...base,
        eventOccurred: n.EventOccurred,
        chargingStart: n.ChargingStart,
        sessionStart: n.SessionStart,
        consumedEnergyKwh: n.ConsumedEnergyProgress,
      };
      occurrence = n.EventOccurred.toISOString();
      break;
    case "End":
      event = {
        type: "CHARGING_ENDED",
        ...base,
        chargingStart: n.ChargingStart,
        sessionStart: n.SessionStart,
        chargingEnd: n.ChargingEnd,
        sessionEnd: n.SessionEnd,
        consumedEnergyKwh: n.ConsumedEnergy,
      };
      occurrence = n.ChargingEnd.toISOString();
      break;
    case "Error":
      event = { type: "CHARGING_ERROR", ...base, errorType: n.ErrorType, errorInfo: n.ErrorAdditionalInfo };
      occurrence = n.ErrorType;
      break;
  }
  return {
    ok: true,
    value: {
      ids,
      event,
      message: {
        kind: "NOTIFICATION",
        type: n.Type,
        hubjectSessionId: n.SessionID,
        empPartnerSessionId: n.EMPPartnerSessionID,
        evseId: n.EvseID,
        evcoId: ids.evcoId,
        // (SessionID, Type, EventOccurred/ChargingStart/ChargingEnd): docs/oicp.md#duplicates.
        dedupeKey: `N:${n.SessionID.toLowerCase()}:${n.Type}:${occurrence}`,
        body: asRecord(body),
        receivedAt,
      },
    },
  };
}

export function parseChargeDetailRecord(body: unknown, receivedAt: Date): ParseResult {
  const parsed = cdrSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problem: describe(parsed.error) };
  const c = parsed.data;
  const raw = asRecord(body);
  const cdr: ChargeDetailRecord = {
    hubjectSessionId: c.SessionID,
    evseId: c.EvseID,
    evcoId: evcoIdOf(c.Identification),
    partnerProductId: c.PartnerProductID,
    sessionStart: c.SessionStart,
    sessionEnd: c.SessionEnd,
    chargingStart: c.ChargingStart,
    chargingEnd: c.ChargingEnd,
    consumedEnergyKwh: c.ConsumedEnergy,
    meterValueStart: c.MeterValueStart,
    meterValueEnd: c.MeterValueEnd,
    receivedAt,
    raw,
  };
  return {
    ok: true,
    value: {
      ids: {
        hubjectSessionId: c.SessionID,
        empPartnerSessionId: c.EMPPartnerSessionID,
        cpoPartnerSessionId: c.CPOPartnerSessionID,
        evseId: c.EvseID,
        evcoId: cdr.evcoId,
      },
      event: { type: "CDR_RECEIVED", at: receivedAt, cpoPartnerSessionId: c.CPOPartnerSessionID, cdr },
      message: {
        kind: "CDR",
        type: "CDR",
        hubjectSessionId: c.SessionID,
        empPartnerSessionId: c.EMPPartnerSessionID,
        evseId: c.EvseID,
        evcoId: cdr.evcoId,
        // Hubject accepts one CDR per SessionID (docs/oicp.md#get-cdrs, #duplicates).
        dedupeKey: `CDR:${c.SessionID.toLowerCase()}`,
        body: raw,
        receivedAt,
      },
    },
  };
}

/** The domain's InboundReader: the same reading for a message as it arrives and as it was stored. */
export const oicpInboundReader: InboundReader = {
  read: (kind, body, receivedAt) =>
    kind === "CDR" ? parseChargeDetailRecord(body, receivedAt) : parseChargingNotification(body, receivedAt),
};
