// Sessions, the inbound messages stored before they are acknowledged, idempotency keys.
// Released: never edit; add a migration instead.
import { sql } from "kysely";
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

export async function up(db: MigrationDb, flavor: SqlFlavor): Promise<void> {
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
}
