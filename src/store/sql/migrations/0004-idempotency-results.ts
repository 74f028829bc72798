// What the first call of an idempotency key answered (its error, or none), so that a repeat of
// the key answers the same, even after the session moved on or on another replica. And an index
// on the content of inbound messages: the CDR back-fill asks whether it holds a record already;
// and one on when sessions changed: a replica catches its subscribers up after a Redis outage.
// Released: never edit; add a migration instead.
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

export async function up(db: MigrationDb, _flavor: SqlFlavor): Promise<void> {
  await db.schema.alterTable("idempotency_keys").addColumn("settled_at", "text").execute();
  await db.schema.alterTable("idempotency_keys").addColumn("result_error", "text").execute();
  await db.schema.createIndex("charging_sessions_updated_idx").on("charging_sessions").columns(["updated_at", "id"]).execute();
  await db.schema.createIndex("inbound_messages_content_idx").on("inbound_messages").columns(["kind", "content_hash"]).execute();
}
