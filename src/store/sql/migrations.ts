// Schema migrations, in code (imported, not read from a folder at runtime), run by Kysely's
// Migrator. Written with the schema builder so one definition serves SQLite and PostgreSQL; the
// few differences are `flavor` switches in the migrations and nowhere else.
//
// Never edit a migration once released: add a new one (migrations/0005-….ts) instead.
import { type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import * as m0001 from "./migrations/0001-sessions-inbound-idempotency.js";
import * as m0002 from "./migrations/0002-origin-in-flight-contracts.js";
import * as m0003 from "./migrations/0003-keys-raw-inbound-anomalies.js";
import * as m0004 from "./migrations/0004-idempotency-results.js";
import * as m0005 from "./migrations/0005-identifications.js";
import * as m0006 from "./migrations/0006-evse-catalogue.js";
import * as m0007 from "./migrations/0007-pricing.js";
import type { MigrationDb } from "./migrations/migration.js";
import type { SqlFlavor } from "./tables.js";

/** By name, in order: the name is what Kysely records as run. */
const MIGRATIONS = [
  ["0001_sessions_inbound_idempotency", m0001],
  ["0002_origin_in_flight_contracts", m0002],
  ["0003_keys_raw_inbound_anomalies", m0003],
  ["0004_idempotency_results", m0004],
  ["0005_identifications", m0005],
  ["0006_evse_catalogue", m0006],
  ["0007_pricing", m0007],
] as const;

export function sessionStoreMigrations(flavor: SqlFlavor): Record<string, Migration> {
  return Object.fromEntries(MIGRATIONS.map(([name, migration]) => [name, { up: (db: MigrationDb) => migration.up(db, flavor) }]));
}

/** Serves the migrations above to Kysely's Migrator. */
export class InCodeMigrationProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}

  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(this.migrations);
  }
}

/**
 * Runs every pending migration; throws the first failure. Running it again is a no-op.
 *
 * Several processes may call it at once. SQLite serialises writers on the file; on
 * PostgreSQL Kysely's Migrator takes a session-level advisory lock (one key per database)
 * around a transaction that re-reads which migrations ran, so the first process migrates and
 * the others find nothing left to do.
 *
 * PostgreSQL: `schema` (from the URL's `?schema=`) is created if missing. Kysely's bookkeeping
 * tables are pinned to `current_schema()`: unpinned, the Migrator's "does kysely_migration exist?"
 * check looks at every schema of the database and would skip creating it in a fresh schema
 * when another schema already has one.
 */
export async function migrateToLatest(db: MigrationDb, flavor: SqlFlavor, options: { schema?: string | null } = {}): Promise<void> {
  let migrationTableSchema: string | undefined;
  if (flavor === "postgres") {
    if (options.schema) await createSchemaIfMissing(db, options.schema);
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const current = rows[0]?.schema ?? null;
    if (current === null) {
      throw new Error("Session store migration: no schema of the PostgreSQL search_path exists; create it or name one with ?schema=");
    }
    migrationTableSchema = current;
  }
  const migrator = new Migrator({
    db,
    provider: new InCodeMigrationProvider(sessionStoreMigrations(flavor)),
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`Session store migration ${failed ?? "(setup)"} failed: ${String(error)}`, { cause: error });
  }
}

async function createSchemaIfMissing(db: MigrationDb, schema: string): Promise<void> {
  const exists = async (): Promise<boolean> =>
    (await sql`select 1 from pg_catalog.pg_namespace where nspname = ${schema}`.execute(db)).rows.length > 0;
  if (await exists()) return;
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two processes creating it at once: IF NOT EXISTS may still fail with a unique violation.
    if (!(await exists())) throw error;
  }
}
