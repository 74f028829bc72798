// The error of a safe Hubject read (EVSE status, CDRs): what went wrong, and whether the same
// request may succeed later. Remote start and stop never throw it: they answer a RemoteCallOutcome.
import type { StatusCode } from "../../sessions/session.js";

export type HubjectErrorKind = "UNAVAILABLE" | "CONFIGURATION" | "BAD_RESPONSE" | "INVALID_REQUEST";

export class HubjectError extends Error {
  override readonly name = "HubjectError";
  readonly kind: HubjectErrorKind;
  readonly status: StatusCode | null;
  readonly httpStatus: number | null;
  readonly processId: string | null;
  /** True when the same request may succeed later (after backoff). */
  readonly retryable: boolean;
  /** True when nothing was sent because the circuit breaker is open (kind UNAVAILABLE). */
  readonly circuitOpen: boolean;
  /** How long Hubject asked to wait (Retry-After), when it said so. */
  readonly retryAfterMs: number | null;

  constructor(
    kind: HubjectErrorKind,
    message: string,
    details: {
      status?: StatusCode | null;
      httpStatus?: number | null;
      processId?: string | null;
      retryable?: boolean;
      circuitOpen?: boolean;
      retryAfterMs?: number | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status ?? null;
    this.httpStatus = details.httpStatus ?? null;
    this.processId = details.processId ?? null;
    this.retryable = details.retryable ?? false;
    this.circuitOpen = details.circuitOpen ?? false;
    this.retryAfterMs = details.retryAfterMs ?? null;
  }
}

/** A StatusCode other than 000 in the body of a pull (docs/oicp.md#status-codes). */
export function errorForStatus(operation: string, status: StatusCode, httpStatus: number, processId: string | null): HubjectError {
  const message = `${operation}: Hubject answered StatusCode ${status.code}${status.description ? ` (${status.description})` : ""}`;
  const details = { status, httpStatus, processId };
  switch (status.code) {
    case "017":
    case "300":
      return new HubjectError("CONFIGURATION", message, details);
    case "018":
    case "019":
    case "022":
      return new HubjectError("INVALID_REQUEST", message, details);
    case "001":
    case "002":
    case "009":
    case "021":
    case "310":
    case "320":
      return new HubjectError("UNAVAILABLE", message, { ...details, retryable: true });
    default:
      return new HubjectError("BAD_RESPONSE", message, details);
  }
}

export function badResponse(message: string, processId: string | null, httpStatus: number | null = 200): HubjectError {
  return new HubjectError("BAD_RESPONSE", message, { processId, httpStatus });
}

/** A client option that cannot work (bad URL, unreadable certificate, a timeout inside the CPO window). */
export function configurationError(message: string, cause?: unknown): HubjectError {
  return new HubjectError("CONFIGURATION", message, cause === undefined ? {} : { cause });
}
