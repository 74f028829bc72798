// What came back from Hubject, read ONCE per exchange: the HTTP verdict, the body's StatusCode,
// whether repeating may help, whether it shows Hubject unhealthy, whether it is a configuration
// fault. Retries, the circuit breaker, the configuration alarm, spans, metrics and the outcome
// of each operation all read these fields and never look at the raw exchange again.
import { asArray, isRecord, readString } from "../../lib/json.js";
import type { StatusCode } from "../../sessions/session.js";
import type { HubjectValidationErrorBody } from "../wire/types.js";

export type OicpOperation =
  | "AuthorizeRemoteStart"
  | "AuthorizeRemoteStop"
  | "PullEvseStatusById"
  | "GetChargeDetailRecords"
  | "PushAuthenticationData"
  | "PullEvseData"
  | "PullEvseStatus"
  | "PullEvseStatusByOperatorId"
  | "PullPricingProductData"
  | "PullEvsePricing";

export interface PostRequest {
  operation: OicpOperation;
  path: string;
  body: unknown;
  timeoutMs: number;
  /** Safe to repeat (pulls): only these are retried. Remote start/stop never are (docs/oicp.md#lost-answer). */
  idempotent: boolean;
  searchParams?: Record<string, string | number>;
  /** Context for the exchange's debug log line (ids, never a whole EvcoID). */
  logFields?: Record<string, unknown>;
}

/** What came back over the wire, before any OICP interpretation. */
export type Exchange =
  | { type: "response"; httpStatus: number; json: unknown; text: string; processId: string | null; retryAfter: string | null }
  | {
      type: "transport-error";
      /** unreachable/tls: nothing was (completely) sent or the handshake failed; the others may have reached Hubject. */
      failure: "unreachable" | "tls" | "timeout" | "connection-lost";
      code: string;
      detail: string;
    }
  /** The circuit breaker is open: nothing was sent. */
  | { type: "circuit-open"; detail: string }
  /** Hubject asked to wait (Retry-After) and that time has not come: nothing was sent. */
  | { type: "held"; detail: string; retryAfterMs: number };

/** The HTTP answer classified the same way for every operation (docs/oicp.md#http-errors). */
export type HttpVerdict =
  | { verdict: "ok"; json: unknown }
  | { verdict: "bad-response"; detail: string }
  | { verdict: "upstream-error"; detail: string; status: StatusCode | null }
  | {
      verdict: "rejected";
      reason: "unauthorized" | "forbidden" | "invalid-request" | "rate-limited" | "not-found";
      status: StatusCode;
      detail: string;
    };

export type ConfigurationProblemKind = "tls" | "unauthorized" | "forbidden";

export interface Answer {
  operation: OicpOperation;
  exchange: Exchange;
  /** null for a transport failure or an open circuit. */
  verdict: HttpVerdict | null;
  /** The StatusCode of a JSON body, leading zeros restored. */
  bodyStatus: StatusCode | null;
  httpStatus: number | null;
  processId: string | null;
  /** Why repeating the same safe request may help (docs/oicp.md#status-codes); null: it will not. */
  transient: { reason: string; onlyOnce: boolean } | null;
  /** Counts against the circuit breaker: could not connect, connection lost, timeout, 408, 5xx. */
  unhealthy: boolean;
  /** TLS, 401 or StatusCode 017, 403: logged loudly once (configuration-watch.ts). */
  configurationProblem: ConfigurationProblemKind | null;
  /** Hubject's Retry-After on a 429 or 503, as sent (ms); for a held call, the time still to wait. */
  retryAfterMs: number | null;
}

const TLS_ERROR_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REJECTED",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "HOSTNAME_MISMATCH",
  "EPROTO",
]);
export const isTlsErrorCode = (code: string): boolean => TLS_ERROR_CODES.has(code) || /^ERR_(TLS|SSL|OSSL)_/.test(code);
/** Transport "errors" made by the gateway itself (closed client, bad got option): they say nothing about Hubject. */
export const LOCAL_FAILURE_CODES = new Set(["ERR_CLOSED", "ERR_UNKNOWN"]);
/** Transient OICP codes in a 200 body that are worth repeating with backoff (docs/oicp.md#status-codes). */
const TRANSIENT_BODY_CODES = new Set(["001", "002", "021", "320"]);
/** 009 "Data transaction error": retry once, then give up and alert (docs/oicp.md#status-codes). */
const RETRY_ONCE_BODY_CODE = "009";

export function readAnswer(operation: OicpOperation, exchange: Exchange): Answer {
  if (exchange.type !== "response") {
    const local = exchange.type === "transport-error" && (exchange.failure === "tls" || LOCAL_FAILURE_CODES.has(exchange.code));
    return {
      operation,
      exchange,
      verdict: null,
      bodyStatus: null,
      httpStatus: null,
      processId: null,
      transient:
        exchange.type === "transport-error" && !local
          ? { reason: `${exchange.failure === "unreachable" ? "could not connect" : exchange.failure} (${exchange.code})`, onlyOnce: false }
          : null,
      unhealthy: exchange.type === "transport-error" && !local,
      configurationProblem: exchange.type === "transport-error" && exchange.failure === "tls" ? "tls" : null,
      retryAfterMs: exchange.type === "held" ? exchange.retryAfterMs : null,
    };
  }
  const { httpStatus } = exchange;
  const bodyStatus = isRecord(exchange.json) ? readStatusCode(exchange.json.StatusCode) : null;
  return {
    operation,
    exchange,
    verdict: httpVerdictOf(exchange, bodyStatus),
    bodyStatus,
    httpStatus,
    processId: exchange.processId,
    transient: transientOf(httpStatus, exchange.json, bodyStatus),
    unhealthy: httpStatus === 408 || httpStatus >= 500,
    configurationProblem: httpStatus === 401 || bodyStatus?.code === "017" ? "unauthorized" : httpStatus === 403 ? "forbidden" : null,
    // Retry-After belongs to 429 (AUP) and, by HTTP semantics, 503.
    retryAfterMs: httpStatus === 429 || httpStatus === 503 ? retryAfterMs(exchange.retryAfter) : null,
  };
}

/** Retry-After in seconds (or an HTTP date), as sent; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return null;
    ms = date - now;
  }
  return Math.max(ms, 0);
}

/** A one-line description for logs. */
export function describeAnswer(answer: Answer): string {
  const { exchange } = answer;
  switch (exchange.type) {
    case "circuit-open":
      return "circuit open";
    case "held":
      return "held (Retry-After)";
    case "transport-error":
      return `${exchange.failure}: ${exchange.detail}`;
    case "response":
      return `HTTP ${exchange.httpStatus}`;
  }
}

/** StatusCode.Code stays a string; a number (or a digit string that lost its zeros) is padded to 3 digits. */
export function readStatusCode(value: unknown): StatusCode | null {
  if (!isRecord(value)) return null;
  const raw = value.Code;
  let code: string;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) code = String(raw).padStart(3, "0");
  else if (typeof raw === "string" && raw.trim().length > 0) {
    const trimmed = raw.trim();
    code = /^\d{1,2}$/.test(trimmed) ? trimmed.padStart(3, "0") : trimmed;
  } else return null;
  return { code, description: readString(value.Description), additionalInfo: readString(value.AdditionalInfo) };
}

/** A StatusCode the gateway made up because no OICP body came back; it says so. */
export function synthesized(code: string, description: string, info: string): StatusCode {
  return { code, description, additionalInfo: `synthesized by the gateway: ${info}` };
}

function transientOf(httpStatus: number, json: unknown, bodyStatus: StatusCode | null): Answer["transient"] {
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return { reason: `HTTP ${httpStatus}`, onlyOnce: false };
  if (httpStatus >= 200 && httpStatus < 300 && isRecord(json) && bodyStatus) {
    if (TRANSIENT_BODY_CODES.has(bodyStatus.code)) return { reason: `StatusCode ${bodyStatus.code}`, onlyOnce: false };
    if (bodyStatus.code === RETRY_ONCE_BODY_CODE) return { reason: `StatusCode ${bodyStatus.code}`, onlyOnce: true };
  }
  return null;
}

function httpVerdictOf(exchange: Extract<Exchange, { type: "response" }>, bodyStatus: StatusCode | null): HttpVerdict {
  const { httpStatus, json } = exchange;
  const snippet = exchange.text.length > 200 ? `${exchange.text.slice(0, 200)}…` : exchange.text;

  if (httpStatus >= 200 && httpStatus < 300) {
    if (json === undefined) return { verdict: "bad-response", detail: `HTTP ${httpStatus} with a body that is not JSON: ${snippet}` };
    return { verdict: "ok", json };
  }
  if (httpStatus === 408 || httpStatus >= 500) {
    const codeInfo = bodyStatus ? ` (StatusCode ${bodyStatus.code})` : "";
    return { verdict: "upstream-error", detail: `HTTP ${httpStatus}${codeInfo}`, status: bodyStatus };
  }
  const rejected = (reason: Extract<HttpVerdict, { verdict: "rejected" }>["reason"], status: StatusCode, detail: string): HttpVerdict => ({
    verdict: "rejected",
    reason,
    status,
    detail,
  });

  switch (httpStatus) {
    case 400: {
      const detail = describeValidationErrors(json) ?? `HTTP 400: ${snippet}`;
      return rejected("invalid-request", bodyStatus ?? synthesized("022", "Data error", detail), detail);
    }
    case 401:
      // Certificate does not match the ProviderID, or it expired (docs/oicp.md#transport).
      return rejected(
        "unauthorized",
        bodyStatus ?? synthesized("017", "Unauthorized Access", "HTTP 401 without an OICP body"),
        `HTTP 401: ${bodyStatus?.description ?? "Unauthorized Access"} (${bodyStatus?.code ?? "017"})`,
      );
    case 403:
      // An HTML page from Hubject's firewall: the egress IP is not allow-listed (docs/oicp.md#transport).
      return rejected(
        "forbidden",
        bodyStatus ?? synthesized("017", "Forbidden", "HTTP 403 from Hubject's firewall: is the egress IP allow-listed?"),
        "HTTP 403 (firewall / IP allow-list)",
      );
    case 404:
      return rejected(
        "not-found",
        bodyStatus ?? synthesized("300", "Not found", `HTTP 404: ${snippet}`),
        `HTTP 404: ${isRecord(json) && typeof json.message === "string" ? json.message : "not found"}`,
      );
    case 429:
      // Rate limits per operation: docs/oicp.md#rate-limits (AUP).
      return rejected(
        "rate-limited",
        bodyStatus ?? synthesized("320", "Rate limited", "HTTP 429 Too Many Requests"),
        `HTTP 429 Too Many Requests${exchange.retryAfter ? `, Retry-After ${exchange.retryAfter}` : ""}`,
      );
  }
  if (httpStatus >= 300 && httpStatus < 400) {
    // Redirects are not followed: a POST must not silently change target. Wrong base URL?
    return rejected(
      "not-found",
      bodyStatus ?? synthesized("300", "Not found", `HTTP ${httpStatus} redirect`),
      `HTTP ${httpStatus} redirect (check the base URL)`,
    );
  }
  if (httpStatus >= 400) {
    return rejected(
      "invalid-request",
      bodyStatus ?? synthesized("022", "Data error", `HTTP ${httpStatus}`),
      `HTTP ${httpStatus}: ${snippet}`,
    );
  }
  return { verdict: "bad-response", detail: `unexpected HTTP ${httpStatus}` };
}

/** Hubject's HTTP 400 body is not OICP-shaped (docs/oicp.md#http-errors, example 19). */
function describeValidationErrors(json: unknown): string | null {
  if (!isRecord(json)) return null;
  const body = json as HubjectValidationErrorBody;
  const errors = asArray(body.validationErrors)
    .filter(isRecord)
    .map((e) => `${readString(e.fieldReference) ?? "?"}: ${readString(e.errorMessage) ?? "invalid"}`);
  const message = readString(body.message);
  if (errors.length === 0) return message;
  return `${message ? `${message} ` : ""}${errors.join("; ")}`;
}
