// The SQL session store's tables and how to open them. The store's queries are plain,
// portable Kysely; what differs between SQLite and PostgreSQL is confined to this file
// (driver, connection settings) and to `SqlFlavor` switches in migrations.ts.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect, type Generated } from "kysely";
import type { SessionStatus } from "../session.js";
import { SqlSessionStore } from "./sql.store.js";

/** Which SQL engine sits behind a Kysely instance; only migrations need to know. */
export type SqlFlavor = "sqlite" | "postgres";

/**
 * Timestamps are ISO-8601 UTC text from `Date.prototype.toISOString()` (always
 * millisecond precision, fixed width), so text order is time order on both engines.
 */
export type IsoTimestamp = string;

export interface ChargingSessionsTable {
  id: string;
  driver_id: string;
  origin: Generated<string>;
  hubject_session_id: string | null;
  cpo_partner_session_id: string | null;
  evse_id: string;
  evco_id: string;
  partner_product_id: string | null;
  status: SessionStatus;
  /** JSON text of a StatusCode. */
  last_status_code: string | null;
  requested_at: IsoTimestamp;
  charging_started_at: IsoTimestamp | null;
  charging_ended_at: IsoTimestamp | null;
  session_started_at: IsoTimestamp | null;
  session_ended_at: IsoTimestamp | null;
  stop_requested_at: IsoTimestamp | null;
  updated_at: IsoTimestamp;
  /** Decimal string, never a float. */
  consumed_energy_kwh: string | null;
  last_progress_at: IsoTimestamp | null;
  last_event_at: IsoTimestamp | null;
  figures_source: string | null;
  error_type: string | null;
  error_info: string | null;
  /** JSON text of a ChargeDetailRecord (dates as ISO strings, `raw` as received). */
  charge_detail_record: string | null;
  version: number;
}

export interface InboundMessagesTable {
  seq: Generated<number>;
  kind: string;
  type: string;
  hubject_session_id: string;
  emp_partner_session_id: string | null;
  evse_id: string;
  evco_id: string | null;
  dedupe_key: string;
  /** JSON text of the message body. */
  body: string;
  received_at: IsoTimestamp;
  session_id: string | null;
}

export interface IdempotencyKeysTable {
  driver_id: string;
  key: string;
  operation: string;
  session_id: string;
  created_at: IsoTimestamp;
}

export interface DriverContractsTable {
  /** Upper-cased: Hubject upper-cases EvcoIDs (FACTS.md §4). */
  evco_id: string;
  driver_id: string;
  seen_at: IsoTimestamp;
}

export interface Database {
  charging_sessions: ChargingSessionsTable;
  inbound_messages: InboundMessagesTable;
  idempotency_keys: IdempotencyKeysTable;
  driver_contracts: DriverContractsTable;
}

/**
 * Opens (creating if needed) a SQLite file for the store. WAL lets readers run while
 * one writer writes; busy_timeout makes a second process wait for the write lock
 * instead of failing at once. `:memory:` gives a private in-memory database.
 */
export function createSqliteDatabase(file: string): Kysely<Database> {
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
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

export type SqlLocation = { flavor: "sqlite"; file: string } | { flavor: "postgres"; url: string };

/**
 * Reads a store URL:
 * - `:memory:`, `sqlite::memory:` -> in-memory SQLite
 * - a plain path (`./data/gw.db`, `/var/lib/gw.db`) -> that SQLite file
 * - `sqlite:<path>`; `sqlite://<path>` drops the `//`, so `sqlite:///abs/gw.db` is absolute
 *   and `sqlite://data/gw.db` relative
 * - `file:` URLs: `file:///abs/gw.db` (percent-decoded), `file:./data/gw.db`
 * - `postgres://`, `postgresql://` -> PostgreSQL
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

/**
 * Opens the session store named by `url` (see parseSqlUrl). Does not migrate: the
 * composition root calls `store.migrate()` once at startup.
 */
export function openSqlStore(options: { url: string }): SqlSessionStore {
  const location = parseSqlUrl(options.url);
  if (location.flavor === "postgres") {
    throw new Error("PostgreSQL session store is not supported yet: use a SQLite path, sqlite:, file: or :memory: URL");
  }
  return new SqlSessionStore(createSqliteDatabase(location.file), { flavor: "sqlite" });
}
