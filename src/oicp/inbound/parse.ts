// Reads what Hubject sends us (charging notifications, CDRs) into domain events: "parse, then
// validate, then construct". Reading is lenient and lossless (docs/oicp.md#lenient-reading):
// unknown fields, explicit nulls, numbers in strings or with a decimal comma, times without an
// offset, "Connector Error" with a space (#e9) are read and what had to be repaired is recorded
// as an anomaly; numbers are exact (lossless-json). Only what Hubject itself requires refuses a
// message, and then the refusal names the field. Judging (does it fit the session, can the
// figures be true) is the domain's, after the message is stored.
import { createHash } from "node:crypto";
import { isRecord } from "../../lib/json.js";
import type { InboundReader, InboundReadResult, ParsedInbound, UncheckedNames } from "../../sessions/ports.js";
import type { InboundKind } from "../../sessions/session.store.js";
import { parseOicpJson } from "../wire/decimal.js";
import { readCdr } from "./read/cdr.js";
import { FieldReader, Refusal } from "./read/fields.js";
import { readNotification } from "./read/notification.js";

export type ParseResult = InboundReadResult;

/** A charging notification body (parsed JSON; exact numbers when it came through parseOicpJson). */
export function parseChargingNotification(body: unknown, receivedAt: Date): ParseResult {
  return read(body, (reader) => readNotification(reader, receivedAt, contentHash), "Type");
}

/** A charge detail record body (parsed JSON; exact numbers when it came through parseOicpJson). */
export function parseChargeDetailRecord(body: unknown, receivedAt: Date): ParseResult {
  return read(body, (reader) => readCdr(reader, receivedAt, contentHash), "body");
}

/** The domain's InboundReader: the same reading for a message as it arrives and as it was stored. */
export const oicpInboundReader: InboundReader = {
  read(kind: InboundKind, text: string, receivedAt: Date): ParseResult {
    let body: unknown;
    try {
      body = parseOicpJson(text);
    } catch {
      return { ok: false, problem: "Body is not valid JSON" };
    }
    return kind === "CDR" ? parseChargeDetailRecord(body, receivedAt) : parseChargingNotification(body, receivedAt);
  },
};

function read(body: unknown, reading: (reader: FieldReader) => ParsedInbound, fieldWhenNoObject: string): ParseResult {
  if (!isRecord(body)) {
    return {
      ok: false,
      problem: fieldWhenNoObject === "Type" ? "Field 'Type' missing: the body is not a JSON object" : "Field 'body': not a JSON object",
    };
  }
  try {
    return { ok: true, value: reading(new FieldReader(body)) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, problem: error.message, names: namesIn(body, fieldWhenNoObject === "Type") };
    throw error;
  }
}

/** What a refused body seems to name (strings only, unchecked, cut to the OICP lengths) for the operator's list. */
function namesIn(body: Record<string, unknown>, notification: boolean): UncheckedNames {
  const text = (value: unknown, max: number) => (typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, max) : null);
  return {
    type: notification ? text(body.Type, 20) : "CDR",
    hubjectSessionId: text(body.SessionID, 250),
    empPartnerSessionId: text(body.EMPPartnerSessionID, 250),
    evseId: text(body.EvseID, 50),
  };
}

/** SHA-256 of the fields as canonical JSON (keys sorted, dates as ISO strings). */
function contentHash(fields: unknown): string {
  return createHash("sha256").update(canonicalJson(fields)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isRecord(value)) {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
