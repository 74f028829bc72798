// Schema migrations, in code (no migration folder to ship or find at runtime), run by
// Kysely's Migrator. Written with the schema builder so one definition serves SQLite and
// PostgreSQL; the few differences are `flavor` switches here and nowhere else.
//
// Never edit a migration once released: add a new one ("0002_...") instead.
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import type { SqlFlavor } from "./tables.js";

// biome-ignore lint/suspicious/noExplicitAny: a migration runs against the schema as it was then, not today's typed one (Kysely's own idiom).
type MigrationDb = Kysely<any>;

export function sessionStoreMigrations(flavor: SqlFlavor): Record<string, Migration> {
  return {
    "0001_sessions_inbound_idempotency": {
      async up(db: MigrationDb): Promise<void> {
        await db.schema
          .createTable("charging_sessions")
          .ifNotExists()
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("driver_id", "text", (c) => c.notNull())
          .addColumn("hubject_session_id", "text")
          .addColumn("cpo_partner_session_id", "text")
          .addColumn("evse_id", "text", (c) => c.notNull())
          .addColumn("evco_id", "text", (c) => c.notNull())
          .addColumn("partner_product_id", "text")
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("last_status_code", "text")
          .addColumn("requested_at", "text", (c) => c.notNull())
          .addColumn("charging_started_at", "text")
          .addColumn("charging_ended_at", "text")
          .addColumn("session_started_at", "text")
          .addColumn("session_ended_at", "text")
          .addColumn("stop_requested_at", "text")
          .addColumn("updated_at", "text", (c) => c.notNull())
          .addColumn("consumed_energy_kwh", "text")
          .addColumn("last_progress_at", "text")
          .addColumn("last_event_at", "text")
          .addColumn("figures_source", "text")
          .addColumn("error_type", "text")
          .addColumn("error_info", "text")
          .addColumn("charge_detail_record", "text")
          .addColumn("version", "integer", (c) => c.notNull())
          .execute();

        // One gateway session per Hubject SessionID; many sessions still wait for theirs.
        await db.schema
          .createIndex("charging_sessions_hubject_session_id_uq")
          .ifNotExists()
          .unique()
          .on("charging_sessions")
          .column("hubject_session_id")
          .where("hubject_session_id", "is not", null)
          .execute();

        // listForDriver: keyset pagination newest first.
        await db.schema
          .createIndex("charging_sessions_driver_requested_idx")
          .ifNotExists()
          .on("charging_sessions")
          .columns(["driver_id", "requested_at desc", "id desc"])
          .execute();

        // findAwaitingAnswer compares upper(evse_id), upper(evco_id) (EvseID and EvcoID are
        // case-insensitive, docs/oicp.md#identifiers and #e11); indexing the same expressions lets both engines use it.
        await db.schema
          .createIndex("charging_sessions_evse_evco_idx")
          .ifNotExists()
          .on("charging_sessions")
          .expression(sql`upper(evse_id), upper(evco_id)`)
          .execute();

        // Messages are stored before they are acknowledged (docs/oicp.md#inbound) and may arrive
        // before their session knows its Hubject SessionID (§6.1), hence session_id nullable.
        let inbound = db.schema.createTable("inbound_messages").ifNotExists();
        inbound =
          flavor === "postgres"
            ? inbound.addColumn("seq", "serial", (c) => c.primaryKey())
            : inbound.addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement());
        await inbound
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("type", "text", (c) => c.notNull())
          .addColumn("hubject_session_id", "text", (c) => c.notNull())
          .addColumn("emp_partner_session_id", "text")
          .addColumn("evse_id", "text", (c) => c.notNull())
          .addColumn("evco_id", "text")
          // Duplicates are expected and acked without a second effect (§6.6).
          .addColumn("dedupe_key", "text", (c) => c.notNull().unique())
          .addColumn("body", "text", (c) => c.notNull())
          .addColumn("received_at", "text", (c) => c.notNull())
          .addColumn("session_id", "text", (c) => c.references("charging_sessions.id").onDelete("set null"))
          .execute();

        await db.schema
          .createIndex("inbound_messages_hubject_session_id_idx")
          .ifNotExists()
          .on("inbound_messages")
          .column("hubject_session_id")
          .execute();

        // No foreign key to charging_sessions: the key is claimed before the session row exists.
        await db.schema
          .createTable("idempotency_keys")
          .ifNotExists()
          .addColumn("driver_id", "text", (c) => c.notNull())
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("operation", "text", (c) => c.notNull())
          .addColumn("session_id", "text", (c) => c.notNull())
          .addColumn("created_at", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("idempotency_keys_pk", ["driver_id", "key"])
          .execute();
      },
    },
    "0002_origin_in_flight_contracts": {
      async up(db: MigrationDb): Promise<void> {
        await db.schema
          .alterTable("charging_sessions")
          .addColumn("origin", "text", (c) => c.notNull().defaultTo("APP"))
          .execute();

        // At most one remote start in flight per driver and EVSE, across processes: a second
        // startCharging joins the first instead of reaching Hubject again (docs/oicp.md#lost-answer).
        await db.schema
          .createIndex("charging_sessions_one_request_uq")
          .ifNotExists()
          .unique()
          .on("charging_sessions")
          .expression(sql`driver_id, upper(evse_id)`)
          .where(sql.ref("status"), "=", sql.lit("REQUESTED"))
          .execute();

        // The background jobs look sessions up by status.
        await db.schema
          .createIndex("charging_sessions_status_idx")
          .ifNotExists()
          .on("charging_sessions")
          .columns(["status", "requested_at"])
          .execute();

        // The recovery sweep looks for messages still waiting for their session.
        await db.schema
          .createIndex("inbound_messages_unattached_idx")
          .ifNotExists()
          .on("inbound_messages")
          .columns(["session_id", "received_at"])
          .execute();

        // Who holds which contract, learnt from drivers' tokens: sessions started at the
        // charger (RFID, Plug&Charge) reach the right driver (docs/oicp.md#charger-sessions).
        await db.schema
          .createTable("driver_contracts")
          .ifNotExists()
          .addColumn("evco_id", "text", (c) => c.primaryKey())
          .addColumn("driver_id", "text", (c) => c.notNull())
          .addColumn("seen_at", "text", (c) => c.notNull())
          .execute();
      },
    },
  };
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
