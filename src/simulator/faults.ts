// Switchable faults for fault-injection tests: what can go wrong between the gateway and
// Hubject (UpstreamFault, one request at a time) and how a real CPO may bend the message flow
// (CpoFaults, per session). Each one mirrors a pitfall in docs/oicp.md#transport, #status-codes and #session-flow.
import { STATUS_CODES } from "node:http";
import type { OicpAcknowledgement } from "../oicp/wire/types.js";

export type UpstreamFault =
  /** Answer normally, but only after `ms` (a slow CPO; may exceed the gateway's timeout, then the answer is simply lost). */
  | { kind: "delay"; ms: number }
  /** Answer with this HTTP status (500, 502, 503, 429...) and a body (JSON or text); the request was NOT processed: nothing starts/stops. */
  | { kind: "http"; status: number; body?: string; retryAfterSeconds?: number }
  /** Read the whole request, then destroy the socket without answering. forwarded=true: Hubject did process it (the CPO starts/stops anyway). */
  | { kind: "reset"; forwarded: boolean }
  /** HTTP 200 with a body that is not valid JSON. forwarded as above. */
  | { kind: "malformed-json"; forwarded: boolean }
  /** HTTP 200 OICP answer with this StatusCode.Code (e.g. "310", "001", "021") and Result false. forwarded=true: the CPO goes on as if accepted (like example 04's 310). For remote start include a SessionID when forwarded. */
  | { kind: "status-code"; code: string; forwarded: boolean };

export interface CpoFaults {
  /** The Start notification is delivered (and acknowledged) before the remote-start answer goes out (docs/oicp.md#early-messages). */
  notificationsBeforeAnswer: boolean;
  /** Whether the CPO copies the EMPPartnerSessionID into notifications and the CDR (default true; false = only the SessionID links them). */
  copyEmpPartnerSessionId: boolean;
  /** Every notification and the CDR are delivered twice, back to back (docs/oicp.md#duplicates). */
  duplicateDeliveries: boolean;
  /** Progress notifications are delivered in reversed pairs (2nd then 1st), and the End arrives after the CDR (docs/oicp.md#out-of-order). */
  reorderDeliveries: boolean;
  /** The CPO sends no charging notifications at all; only the CDR (docs/oicp.md#optional-notifications). */
  suppressNotifications: boolean;
  /** The CDR is never pushed; Hubject stores it, and only GetChargeDetailRecords with CDRForwarded:false returns it (docs/oicp.md#hubject-retries). */
  suppressCdrDelivery: boolean;
}

/** A well-behaved CPO: what the simulator did before faults existed. */
export const DEFAULT_CPO_FAULTS: Readonly<CpoFaults> = Object.freeze({
  notificationsBeforeAnswer: false,
  copyEmpPartnerSessionId: true,
  duplicateDeliveries: false,
  reorderDeliveries: false,
  suppressNotifications: false,
  suppressCdrDelivery: false,
});

/** Rejects faults that node:http could not even send, so a typo fails the test that made it. */
export function checkUpstreamFault(fault: UpstreamFault): void {
  switch (fault.kind) {
    case "delay":
      if (!Number.isFinite(fault.ms) || fault.ms < 0) throw new RangeError(`delay fault: ms must be >= 0, got ${fault.ms}`);
      return;
    case "http":
      if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599) {
        throw new RangeError(`http fault: status must be an HTTP status code, got ${fault.status}`);
      }
      if (fault.retryAfterSeconds !== undefined && !(Number.isInteger(fault.retryAfterSeconds) && fault.retryAfterSeconds >= 0)) {
        throw new RangeError(`http fault: retryAfterSeconds must be a whole number >= 0, got ${fault.retryAfterSeconds}`);
      }
      return;
    case "status-code":
      // StatusCode.Code is a three-character string (docs/oicp.md#acknowledgement).
      if (!/^\d{3}$/.test(fault.code)) throw new RangeError(`status-code fault: code must be three digits, got "${fault.code}"`);
      return;
    default:
      return;
  }
}

/**
 * Whether Hubject (and the CPO behind it) acted on the request. Only remote start/stop are
 * forwarded to a CPO; for the pulls "forwarded" means nothing, so those faults block them.
 */
export function isProcessed(fault: UpstreamFault, forwardable: boolean): boolean {
  if (fault.kind === "delay") return true;
  if (fault.kind === "http") return false;
  return forwardable && fault.forwarded;
}

/** Cut off mid-object, like a proxy that dropped the rest of the answer. */
export const MALFORMED_JSON_BODY = '{"Result":true,"StatusCode":{"Code":"000","Descr';

/** The body of an http fault: the tester's text, else the reason phrase. */
export function httpFaultBody(fault: Extract<UpstreamFault, { kind: "http" }>): { text: string; contentType: string } {
  const text = fault.body ?? STATUS_CODES[fault.status] ?? "Error";
  // A 403 from the allow-list is HTML (docs/oicp.md#http-errors); JSON bodies are sent as JSON.
  const contentType = looksLikeJson(text)
    ? "application/json;charset=UTF-8"
    : text.trimStart().startsWith("<")
      ? "text/html;charset=UTF-8"
      : "text/plain;charset=UTF-8";
  return { text, contentType };
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Descriptions as in docs/oicp.md#status-codes, for the codes a fault test is likely to pick. */
const DESCRIPTIONS: Record<string, string> = {
  "000": "Success",
  "001": "Hubject system error",
  "002": "Hubject database error",
  "009": "Data transaction error",
  "021": "System error",
  "022": "Data error",
  "300": "Partner not found",
  "310": "Partner did not respond",
  "320": "Service not available",
  "400": "Session is invalid",
  "501": "Communication to EVSE failed",
};

/**
 * The acknowledgement of a status-code fault: always Result false. It keeps the SessionID Hubject
 * created (known to Hubject even when the CPO's answer got lost, docs/oicp.md#code-310), but not the
 * CPOPartnerSessionID, which only the CPO's answer would have carried.
 */
export function faultAck(code: string, ids: { SessionID?: string | null; EMPPartnerSessionID?: string | null }): OicpAcknowledgement {
  return {
    Result: false,
    StatusCode: { Code: code, Description: DESCRIPTIONS[code] ?? "Simulated fault", AdditionalInfo: null },
    SessionID: ids.SessionID ?? null,
    CPOPartnerSessionID: null,
    EMPPartnerSessionID: ids.EMPPartnerSessionID ?? null,
  };
}

/** A pull has no Result field: a failed one carries only its StatusCode (the datasource reads it first). */
export function faultStatusOnly(code: string): { StatusCode: OicpAcknowledgement["StatusCode"] } {
  return { StatusCode: { Code: code, Description: DESCRIPTIONS[code] ?? "Simulated fault", AdditionalInfo: null } };
}
