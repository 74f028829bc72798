// The identifications registry (the EMP's cards, QR codes and cars, src/identifications), what
// Hubject holds of each for offline authorization, and which identification started or stopped
// a session at the charger. Released: never edit; add a migration instead.
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

export async function up(db: MigrationDb, _flavor: SqlFlavor): Promise<void> {
  await db.schema
    .createTable("identifications")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("driver_id", "text", (c) => c.notNull())
    .addColumn("evco_id", "text", (c) => c.notNull())
    .addColumn("evco_key", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("uid", "text")
    // How an authorization finds it (identification.ts credentialKey): one card is one card.
    .addColumn("credential_key", "text", (c) => c.notNull().unique())
    .addColumn("rfid_type", "text")
    .addColumn("printed_number", "text")
    .addColumn("expires_at", "text")
    .addColumn("pin_hash", "text")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("blocked_by", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    // Offline authorization: the hash of the record Hubject holds (null: none), and whether a
    // change since then still has to be pushed.
    .addColumn("pushed_hash", "text")
    .addColumn("push_pending", "integer", (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.createIndex("identifications_driver_idx").on("identifications").columns(["driver_id", "id"]).execute();
  await db.schema.createIndex("identifications_push_idx").on("identifications").columns(["push_pending", "updated_at"]).execute();

  await db.schema.alterTable("charging_sessions").addColumn("identification_id", "text").execute();
  await db.schema.alterTable("charging_sessions").addColumn("stop_identification_id", "text").execute();
}
