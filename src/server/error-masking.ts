// What a GraphQL client may see of an error, the same over HTTP (Apollo's formatError) and over
// graphql-ws (useServer's onNext/onError). Client errors keep their message; anything else is an
// unexpected error: logged with its cause, and in production reduced to "Internal server error"
// so that no stack trace, upstream body or internal message leaves the gateway.
import { unwrapResolverError } from "@apollo/server/errors";
import { type GraphQLError, type GraphQLFormattedError, Kind } from "graphql";
import type { Logger } from "../logger.js";
import { StoreUnavailableError } from "../sessions/session.store.js";

/**
 * Codes whose message is written for the client. Any other code, and an error without one, is
 * unexpected. A new client-facing code (src/errors.ts) belongs here, or production masks it.
 */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  // src/errors.ts
  "BAD_USER_INPUT",
  "FORBIDDEN",
  "UNAUTHENTICATED",
  "NOT_FOUND",
  "HUBJECT_UNAVAILABLE",
  "RATE_LIMITED",
  // server/subscription-limits.ts
  "SUBSCRIPTION_LIMIT",
  // Apollo Server and this gateway's request checks (armor.ts, persisted-queries.ts)
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "PERSISTED_QUERY_NOT_ALLOWED",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_REQUEST",
  "SERVICE_UNAVAILABLE",
]);

export const INTERNAL_ERROR_MESSAGE = "Internal server error";
export const STORE_UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Please try again in a moment.";

export interface ErrorMaskingOptions {
  production: boolean;
  /** Removes graphql-js's "Did you mean …?" hints, which list schema names (introspection off). */
  hideSuggestions: boolean;
  logger: Logger;
}

export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** " Did you mean "a" or "b"?", " Did you mean the enum value "X"?": GraphQL names hold no "?". */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

export function hideSuggestions(message: string): string {
  return message.replace(SUGGESTION, "");
}

/** The one masking function: Apollo's formatError, and (through formatWsError) graphql-ws. */
export function createErrorFormatter(options: ErrorMaskingOptions): ErrorFormatter {
  const { production, logger } = options;
  return (formatted, error) => {
    const cause = unwrapResolverError(error);
    if (cause instanceof StoreUnavailableError) {
      // Weather, not a bug: the operator sees the cause (naming DATABASE_URL), the client a retry.
      logger.warn({ err: cause.message, path: formatted.path }, "a GraphQL operation failed: the session store is unavailable");
      return {
        message: STORE_UNAVAILABLE_MESSAGE,
        ...(formatted.path ? { path: formatted.path } : {}),
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        extensions: { code: "SERVICE_UNAVAILABLE", retryable: true },
      };
    }
    const code = typeof formatted.extensions?.code === "string" ? formatted.extensions.code : undefined;
    const unexpected = code === undefined || !CLIENT_ERROR_CODES.has(code);
    if (unexpected) {
      logger.error({ err: unwrapResolverError(error), code, path: formatted.path }, "unexpected error in a GraphQL operation");
      if (production) {
        return {
          message: INTERNAL_ERROR_MESSAGE,
          ...(formatted.path ? { path: formatted.path } : {}),
          extensions: { code: "INTERNAL_SERVER_ERROR" },
        };
      }
    }
    // `http` is Apollo's status/header hint (Apollo strips it; graphql-ws would serialise it).
    const { stacktrace, http: _http, ...extensions } = formatted.extensions ?? {};
    // A stack trace helps debug an unexpected error in development; a client error's stack only shows our own checks.
    const keepStack = unexpected && !production && !options.hideSuggestions && stacktrace !== undefined;
    const message = withoutVariableValue(formatted.message);
    return {
      ...formatted,
      message: options.hideSuggestions ? hideSuggestions(message) : message,
      extensions: { ...extensions, ...(code === undefined ? { code: "INTERNAL_SERVER_ERROR" } : {}), ...(keepStack ? { stacktrace } : {}) },
    };
  };
}

/**
 * graphql-ws hands over raw GraphQLErrors: give them the code Apollo would (variable coercion
 * problems are BAD_USER_INPUT, anything else without a code is INTERNAL_SERVER_ERROR), then format.
 */
export function formatWsError(format: ErrorFormatter, error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  const code = error.extensions.code ?? (isVariableCoercionError(error) ? "BAD_USER_INPUT" : "INTERNAL_SERVER_ERROR");
  return format({ ...formatted, extensions: { ...formatted.extensions, code } }, error);
}

/**
 * graphql-js writes a variable's whole value into its coercion errors (`Variable "$input" got invalid
 * value { pin: "…" }; Field "x" is not defined…`): the value may hold a PIN or a contract, so it is
 * cut out; the variable, the path and the reason stay. The value always ends at a "; " before the
 * reason, so everything up to the last one goes.
 */
export function withoutVariableValue(message: string): string {
  const match = /^(Variable "\$[_A-Za-z][_0-9A-Za-z]*") got invalid value /.exec(message);
  if (!match) return message;
  const at = message.lastIndexOf("; ");
  // A scalar's own reason may quote the value too ("String cannot represent a non string value: 1234").
  const reason = at > match[0].length ? message.slice(at + 2).replace(/( cannot represent [^:]*): .*$/s, "$1.") : null;
  return `${match[1]} got an invalid value${reason ? `; ${reason}` : "."}`;
}

/** The same test as Apollo's requestPipeline: graphql-js's messages about a variable's value. */
function isVariableCoercionError(error: GraphQLError): boolean {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return false;
  const name = node.variable.name.value;
  return [`has invalid value`, `got invalid value `, `of required type `, `of non-null type `].some((tail) =>
    error.message.startsWith(`Variable "$${name}" ${tail}`),
  );
}
