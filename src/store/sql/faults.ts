// Database faults as the domain sees them: a lost connection, a failover, a server refusing
// connections or a SQLite file locked for longer than busy_timeout become StoreUnavailableError
// (retryable), whatever the driver calls them; any other error (a constraint, a bug) stays as it
// is. Wraps a Kysely dialect, so every query of every store and the migrations go through it.
import type { DatabaseConnection, Dialect, Driver } from "kysely";
import { StoreUnavailableError } from "../../sessions/session.store.js";

/** PostgreSQL SQLSTATEs of a connection that is gone or cannot be had (class 08, shutdowns, too many connections). */
const PG_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;
/** Node and pg errors of a socket that failed, or of a pool that could not get one. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const PG_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Connection ended/i;
/** SQLite: another process holds the lock past busy_timeout, or the file cannot be read or written. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL)/;

export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (PG_UNAVAILABLE.test(code) || SOCKET_CODES.has(code) || SQLITE_UNAVAILABLE.test(code))) return true;
  return PG_MESSAGES.test(error.message);
}

export function translateFault(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isUnavailable(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`the session store is unavailable (DATABASE_URL): ${reason}`, { cause: error });
}

/** Where a proxy keeps the object it stands for. */
const ORIGINAL = Symbol("translating-faults:original");

/** The same dialect, with every driver and connection call's faults translated. */
export function translatingFaults(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () =>
      translating(dialect.createDriver(), (method, result) =>
        method === "acquireConnection" ? translating(result as DatabaseConnection) : result,
      ),
  };
}

/**
 * A proxy whose promise-returning methods reject with translated faults. Calls go to the real
 * object (private fields and symbol-keyed methods keep working); `wrap` may wrap what resolves.
 */
function translating<T extends Driver | DatabaseConnection>(
  target: T,
  wrap: (method: string | symbol, result: unknown) => unknown = (_, r) => r,
): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === ORIGINAL) return object;
      const value = Reflect.get(object, property, object) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        // The driver's own methods expect its own connections, not the proxies handed out.
        const unwrapped = args.map((arg) =>
          arg !== null && typeof arg === "object" && ORIGINAL in arg ? (arg as Record<symbol, unknown>)[ORIGINAL] : arg,
        );
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(object, unwrapped);
        } catch (error) {
          throw translateFault(error);
        }
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved) => wrap(property, resolved),
          (error: unknown) => {
            throw translateFault(error);
          },
        );
      };
    },
    has(object, property) {
      return property === ORIGINAL || Reflect.has(object, property);
    },
  });
}
