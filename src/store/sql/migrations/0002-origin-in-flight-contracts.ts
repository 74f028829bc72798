// Where a session started, one start in flight per driver and EVSE, the drivers' contracts.
// Released: never edit; add a migration instead.
import { sql } from "kysely";
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

export async function up(db: MigrationDb, _flavor: SqlFlavor): Promise<void> {
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
}
