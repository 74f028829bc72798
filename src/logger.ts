// The one logger (pino). Structured JSON; secrets and contract ids never in full.
import { type DestinationStream, type Logger, pino } from "pino";
import { currentRequestId } from "./observability/request-context.js";

export type { Logger };

/** Shows enough of an EvcoID to tell contracts apart in a support case, never the whole id. */
export function redactEvcoId(evcoId: string | null | undefined): string | undefined {
  if (!evcoId) return undefined;
  return evcoId.length <= 6 ? "***" : `${evcoId.slice(0, 6)}***`;
}

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? "emp-gateway",
      level: options.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
      // Every line written while serving a request carries its id (down to the Hubject call).
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
      redact: {
        paths: [
          "req.headers.authorization",
          "headers.authorization",
          "authorization",
          "token",
          "*.token",
          "connectionParams.authorization",
          "evcoId",
          "*.evcoId",
          "EvcoID",
          "*.EvcoID",
          "body.Identification",
          "*.Identification",
        ],
        censor: "[redacted]",
      },
    },
    options.destination,
  );
}

export const logger = createLogger();
