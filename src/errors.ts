// Access and input problems are GraphQL errors with a stable extensions.code; expected
// business outcomes (Hubject or the CPO refused) are payload data instead (see status-codes.ts).
import { GraphQLError } from "graphql";

export type ClientErrorCode = "BAD_USER_INPUT" | "FORBIDDEN" | "UNAUTHENTICATED" | "NOT_FOUND";

const STATUS: Record<ClientErrorCode, number> = { BAD_USER_INPUT: 400, FORBIDDEN: 403, UNAUTHENTICATED: 401, NOT_FOUND: 404 };

function clientError(code: ClientErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra, http: { status: STATUS[code] } } });
}

export const badInput = (message: string, field?: string) => clientError("BAD_USER_INPUT", message, field ? { field } : {});
export const forbidden = (message: string) => clientError("FORBIDDEN", message);
export const unauthenticated = (message = "Sign in to continue: a valid access token is required.") =>
  clientError("UNAUTHENTICATED", message);

/**
 * Hubject could not answer a read (EVSE status): a clear, retryable error instead of an internal
 * one. The operator sees the cause in the logs; the driver sees what to do.
 */
export const hubjectUnavailable = (retryable: boolean, retryAfterMs: number | null = null) =>
  new GraphQLError(
    retryable ? "Live charger status is unavailable right now. Please try again in a moment." : "Live charger status is unavailable.",
    { extensions: { code: "HUBJECT_UNAVAILABLE", retryable, ...retryAfter(retryAfterMs) } },
  );

/** The EMP's share of Hubject's status calls is spent for the moment, and nothing is cached. */
export const liveStatusBusy = (retryAfterMs: number | null) =>
  new GraphQLError("Live charger status is busy right now. Please try again in a few seconds.", {
    extensions: { code: "HUBJECT_UNAVAILABLE", retryable: true, ...retryAfter(retryAfterMs) },
  });

/** One caller read charger statuses too often; a field error, so the rest of the answer stands (no HTTP 429). */
export const readsRateLimited = (message: string, retryAfterMs: number | null) =>
  new GraphQLError(message, { extensions: { code: "RATE_LIMITED", retryable: true, ...retryAfter(retryAfterMs) } });

const retryAfter = (ms: number | null) => (ms === null ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) });

/** Too many requests: retry after the given time. */
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new GraphQLError(message, {
    extensions: {
      code: "RATE_LIMITED",
      retryAfterSeconds,
      http: { status: 429, headers: new Map([["retry-after", String(retryAfterSeconds)]]) },
    },
  });
