// The SQL session store's tables and how to open them. The store's queries are plain,
// portable Kysely; what differs between SQLite and PostgreSQL is confined to this file
// (driver, connection settings) and to `SqlFlavor` switches in migrations.ts.
import { mkdirSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect } from "kysely";
import { LRUCache } from "lru-cache";
import pg from "pg";
import type { Logger } from "../../logger.js";
import { isUnavailable, translatingFaults } from "./faults.js";
import { SqlSessionStore } from "./sql.store.js";
import type { Database } from "./tables.js";

export type { SqlFlavor } from "./tables.js";

/**
 * Opens (creating if needed) a SQLite file for the store. WAL lets readers run while
 * one writer writes; busy_timeout makes a second process wait for the write lock
 * instead of failing at once. `:memory:` gives a private in-memory database.
 */
export function createSqliteDatabase(file: string): Kysely<Database> {
  return openSqlite(file).db;
}

/**
 * The Kysely instance and, for the store's page cache, SQLite's `PRAGMA data_version`: a number
 * that changes whenever another connection (another process) commits to the file. Commits on
 * this connection leave it alone; the store counts its own writes.
 */
function openSqlite(file: string): { db: Kysely<Database>; dataVersion: () => number } {
  const inMemory = file === ":memory:" || file === "";
  if (!inMemory) mkdirSync(dirname(resolve(file)), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  try {
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("busy_timeout = 5000");
    sqlite.pragma("foreign_keys = ON");
  } catch (error) {
    sqlite.close();
    throw error;
  }
  const dataVersion = sqlite.prepare("PRAGMA data_version").pluck();
  return {
    db: new Kysely<Database>({ dialect: translatingFaults(new SqliteDialect({ database: withStatementCache(sqlite) })) }),
    dataVersion: () => dataVersion.get() as number,
  };
}

/** Distinct SQL texts the store sends are a few dozen; this bounds the cache should that change. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * better-sqlite3 compiles a statement on every prepare(), and Kysely prepares each query it runs.
 * The store's queries repeat with new parameters only, so compiled statements are kept by SQL
 * text. A statement still iterating (a stream) is busy: then a fresh one is compiled instead.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const statements = new LRUCache<string, BetterSqlite3.Statement>({ max: STATEMENT_CACHE_SIZE });
  return {
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const statement = sqlite.prepare(sql);
      if (!cached) statements.set(sql, statement);
      return statement;
    },
    close() {
      statements.clear();
      sqlite.close();
    },
  };
}

export type SqlLocation = { flavor: "sqlite"; file: string } | { flavor: "postgres"; url: string };

/**
 * Reads a store URL:
 * - `:memory:`, `sqlite::memory:` -> in-memory SQLite
 * - a plain path (`./data/gw.db`, `/var/lib/gw.db`) -> that SQLite file
 * - `sqlite:<path>`; `sqlite://<path>` drops the `//`, so `sqlite:///abs/gw.db` is absolute
 *   and `sqlite://data/gw.db` relative
 * - `file:` URLs: `file:///abs/gw.db` (percent-decoded), `file:./data/gw.db`
 * - `postgres://`, `postgresql://` -> PostgreSQL (see postgresConnection for `?schema=`)
 * A query string (`?mode=...`) is ignored for SQLite.
 */
export function parseSqlUrl(url: string): SqlLocation {
  const trimmed = url.trim();
  if (trimmed === "") throw new Error("Session store URL is empty");
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return { flavor: "sqlite", file: trimmed };
  if (scheme === "postgres" || scheme === "postgresql") return { flavor: "postgres", url: trimmed };
  if (scheme === "file") {
    if (trimmed.toLowerCase().startsWith("file://")) return { flavor: "sqlite", file: fileURLToPath(new URL(trimmed)) };
    return { flavor: "sqlite", file: stripQuery(trimmed.slice("file:".length)) };
  }
  if (scheme === "sqlite") {
    let rest = stripQuery(trimmed.slice("sqlite:".length));
    if (rest.startsWith("//")) rest = rest.slice(2);
    if (rest === "") throw new Error(`Session store URL "${url}" names no file`);
    return { flavor: "sqlite", file: rest };
  }
  throw new Error(`Session store URL scheme "${scheme}:" is not supported (use a SQLite path, sqlite:, file: or :memory:)`);
}

const stripQuery = (s: string): string => {
  const q = s.indexOf("?");
  return q === -1 ? s : s.slice(0, q);
};

// ---------------------------------------------------------------------------
// PostgreSQL

/** Names a schema we can put into `search_path` without quoting: lower case, as PostgreSQL folds it. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresConnection {
  /** The URL for pg: `schema` folded into `options`, a default user added when none is known. */
  connectionString: string;
  /** The schema named by `?schema=`, or null (then the server's search_path applies, normally `public`). */
  schema: string | null;
}

/**
 * Reads a `postgres://` / `postgresql://` URL for pg. Everything pg understands passes through
 * (user, password, host, port, database, `sslmode`, `options`, `application_name`, ...); on top:
 *
 * - `?schema=gw_x` selects the schema the store lives in: every connection starts with
 *   `-c search_path=gw_x` (merged into pg's `options` parameter), so tables, the migration
 *   bookkeeping and the leader lease all live there. Lower-case letters, digits and `_` only.
 *   `migrate()` creates the schema if it does not exist. Equivalent by hand:
 *   `?options=-c%20search_path%3Dgw_x` (then nothing is created).
 * - No user in the URL, no `?user=`, no PGUSER and no USER in the environment: the OS user
 *   name, as libpq (psql) does, so `postgres://127.0.0.1:5432/test` works like `psql -h 127.0.0.1 test`.
 */
export function postgresConnection(url: string): PostgresConnection {
  const trimmed = url.trim();
  const q = trimmed.indexOf("?");
  const base = q === -1 ? trimmed : trimmed.slice(0, q);
  const params = new URLSearchParams(q === -1 ? "" : trimmed.slice(q + 1));

  let schema: string | null = null;
  const named = params.get("schema");
  params.delete("schema");
  if (named !== null) {
    if (!SCHEMA_NAME.test(named)) {
      throw new Error(`Session store URL: schema ${JSON.stringify(named)} must match ${String(SCHEMA_NAME)}`);
    }
    schema = named;
    const options = params.get("options");
    params.set("options", [options, `-c search_path=${schema}`].filter(Boolean).join(" "));
  }

  const hasUser = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(base) || params.has("user");
  if (!hasUser && !process.env.PGUSER && !process.env.USER) {
    const osUser = currentOsUser();
    if (osUser) params.set("user", osUser);
  }

  const query = params.toString();
  return { connectionString: query === "" ? base : `${base}?${query}`, schema };
}

function currentOsUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

export interface PostgresOptions {
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Server-side limit per statement, ms; 0 leaves the server's setting. Default 30 000. */
  statementTimeoutMs?: number;
  /** Shown in pg_stat_activity. Default "emp-gateway" (a URL `application_name` wins). */
  applicationName?: string;
  /** Where errors of idle pooled connections go (a dropped connection is replaced on next use). */
  logger?: Pick<Logger, "warn">;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** pg settings shared by the pool and the leader lease's own connection. */
export function postgresClientConfig(url: string, options: PostgresOptions = {}): pg.ClientConfig {
  const { connectionString } = postgresConnection(url);
  const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    connectionString,
    application_name: options.applicationName ?? "emp-gateway",
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
    // A transaction left open by a crashed request must not hold row locks for long.
    idle_in_transaction_session_timeout: 60_000,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  };
}

/**
 * A Kysely instance over a pg.Pool. Connections are opened on demand (none at creation),
 * each with the URL's schema as its search_path. `destroy()` ends the pool.
 */
export function createPostgresDatabase(url: string, options: PostgresOptions = {}): Kysely<Database> {
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new RangeError(`poolSize must be a positive integer, got ${poolSize}`);
  const pool = new pg.Pool({ ...postgresClientConfig(url, options), max: poolSize });
  // A connection the server drops (restart, failover, pg_terminate_backend) emits 'error'; with
  // no listener that ends the process. The pool listens only while a connection is idle (and then
  // discards it); a connection in use also needs one: its query in flight fails (translated to
  // StoreUnavailableError below), the pool drops the broken client when it is released, and a new
  // connection is opened on next use.
  pool.on("error", (error) => options.logger?.warn(faultFields(error), "an idle PostgreSQL connection failed; it is replaced on next use"));
  pool.on("connect", (client) => {
    // The failure surfaces as the failed query's error (and, when idle, through the pool's listener above).
    client.on("error", () => undefined);
    endWhenLost(client);
  });
  return new Kysely<Database>({ dialect: translatingFaults(new PostgresDialect({ pool })) });
}

/**
 * A query that fails because its connection is gone (the server's FATAL "terminating connection"
 * arrives before the socket closes) ends its client, so that the pool discards it on release
 * instead of handing the dead connection to the next query.
 */
function endWhenLost(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      if (isUnavailable(error)) client.end().catch(() => undefined);
      throw error;
    });
  };
}

/** What a log line needs of a driver error: never the client object pg attaches to it (it holds the connection settings). */
function faultFields(error: Error): { err: { message: string; code?: string } } {
  const code = (error as { code?: unknown }).code;
  return { err: { message: error.message, ...(typeof code === "string" ? { code } : {}) } };
}

export interface OpenSqlStoreOptions extends PostgresOptions {
  url: string;
  /** See SqlSessionStoreOptions.sessionCacheSize. */
  sessionCacheSize?: number;
}

/**
 * Opens the session store named by `url` (see parseSqlUrl). Does not migrate: the
 * composition root calls `store.migrate()` once at startup. The PostgreSQL options
 * (pool size, statement timeout, logger) are ignored for SQLite.
 */
export function openSqlStore(options: OpenSqlStoreOptions): SqlSessionStore {
  const location = parseSqlUrl(options.url);
  if (location.flavor === "postgres") {
    const { schema } = postgresConnection(location.url);
    return new SqlSessionStore(createPostgresDatabase(location.url, options), {
      flavor: "postgres",
      schema,
      sessionCacheSize: options.sessionCacheSize,
    });
  }
  const { db, dataVersion } = openSqlite(location.file);
  return new SqlSessionStore(db, { flavor: "sqlite", sessionCacheSize: options.sessionCacheSize, externalChanges: dataVersion });
}
