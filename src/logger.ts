// The one logger (pino). Structured JSON; secrets and contract ids never in full.
import { pino, type Logger } from "pino";

export type { Logger };

/** Shows enough of an EvcoID to tell contracts apart in a support case, never the whole id. */
export function redactEvcoId(evcoId: string | null | undefined): string | undefined {
  if (!evcoId) return undefined;
  return evcoId.length <= 6 ? "***" : `${evcoId.slice(0, 6)}***`;
}

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? "emp-gateway",
    level: options.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
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
  });
}

export const logger = createLogger();
