// What the simulated Hubject answers, the way HBS answers it (docs/oicp.md#acknowledgement,
// #http-errors): acknowledgements, its HTTP 400 field errors, 017 over 401, 404; and the small
// readers of request bodies its routes share.
import type { ServerResponse } from "node:http";
import { OICP_API_PREFIX, type OicpAcknowledgement } from "../oicp/wire/types.js";
import { sendJson } from "./http.js";

export type AckIds = { SessionID?: string | null; EMPPartnerSessionID?: string | null };

export interface FieldError {
  fieldReference: string;
  errorMessage: string;
}

/** Builds a matcher from the single source of paths in wire.ts; the one group captures the ProviderID. */
export function routePattern(path: (providerId: string) => string): RegExp {
  const marker = "__PROVIDER__";
  const escaped = `${OICP_API_PREFIX}/${path(marker)}`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(marker, "([^/]+)")}$`);
}

export const ack = (
  code: string,
  description: string,
  ids: { SessionID?: string | null; CPOPartnerSessionID?: string | null; EMPPartnerSessionID?: string | null } = {},
): OicpAcknowledgement => ({
  Result: code === "000",
  StatusCode: { Code: code, Description: description, AdditionalInfo: null },
  SessionID: ids.SessionID ?? null,
  CPOPartnerSessionID: ids.CPOPartnerSessionID ?? null,
  EMPPartnerSessionID: ids.EMPPartnerSessionID ?? null,
});

/** HTTP 400 from Hubject is not OICP-shaped (docs/oicp.md#http-errors, example 19). */
export const sendValidationError = (res: ServerResponse, errors: FieldError[]) =>
  sendJson(res, 400, { message: "Error parsing/validating JSON.", extendedInfo: null, validationErrors: errors });

/** Certificate and ProviderID disagree: 017 over HTTP 401 (docs/oicp.md#transport, example 20). */
export const sendUnauthorized = (res: ServerResponse) =>
  sendJson(res, 401, { StatusCode: { Code: "017", Description: "Unauthorized Access", AdditionalInfo: null } });

export const sendNotFound = (res: ServerResponse) =>
  sendJson(res, 404, { StatusCode: { Code: "300", Description: "Not found", AdditionalInfo: null }, message: "Data not found" });

export const mustMatch = (pattern: RegExp) => `must match "${pattern.source}"`;

/** Collects Hubject-style field errors; fieldReference uses Hubject's camelCase (example 19). */
export class Checks {
  readonly errors: FieldError[] = [];

  required(value: unknown, ref: string, pattern?: RegExp): value is string {
    if (value === undefined || value === null) return this.fail(ref, "must not be null");
    if (typeof value !== "string") return this.fail(ref, "must be a string");
    if (pattern && !pattern.test(value)) return this.fail(ref, mustMatch(pattern));
    return true;
  }

  optional(value: unknown, ref: string, maxLength: number): void {
    if (value === undefined || value === null) return;
    if (typeof value !== "string") this.fail(ref, "must be a string");
    else if (value.length > maxLength) this.fail(ref, `size must be between 0 and ${maxLength}`);
  }

  fail(fieldReference: string, errorMessage: string): false {
    this.errors.push({ fieldReference, errorMessage });
    return false;
  }
}

export const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

export const optionalString = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** An OICP date-time must carry an offset (docs/oicp.md#datetime). */
export const parseOicpDate = (value: unknown): Date | null =>
  typeof value === "string" && /T.*(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)) ? new Date(value) : null;

export function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The ids of an acknowledgement, for a status-code fault that replaces it. */
export function ackIds(body: unknown): AckIds {
  const record = asRecord(body);
  return { SessionID: optionalString(record.SessionID), EMPPartnerSessionID: optionalString(record.EMPPartnerSessionID) };
}
