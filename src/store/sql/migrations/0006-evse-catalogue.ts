// The EVSE catalogue (src/catalogue): every EVSE Hubject's PullEvseData delivered, its last
// status, and where the sync stopped. The geo index is a grid cell column (catalogue.ts
// gridCell) with the coordinates beside it: no extension on either engine.
// Released: never edit; add a migration instead.
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

export async function up(db: MigrationDb, flavor: SqlFlavor): Promise<void> {
  const real = flavor === "postgres" ? "double precision" : "real";
  await db.schema
    .createTable("catalogue_evses")
    // evseIdKey (docs/oicp.md#e11): one row per EVSE however it is spelt.
    .addColumn("evse_key", "text", (c) => c.primaryKey())
    .addColumn("evse_id", "text", (c) => c.notNull())
    .addColumn("operator_id", "text", (c) => c.notNull())
    .addColumn("station_id", "text", (c) => c.notNull())
    .addColumn("grid_cell", "integer", (c) => c.notNull())
    .addColumn("latitude", real, (c) => c.notNull())
    .addColumn("longitude", real, (c) => c.notNull())
    .addColumn("max_power_kw", real, (c) => c.notNull())
    .addColumn("is_hubject_compatible", "integer", (c) => c.notNull())
    // JSON text of the rest of the record (names, address, plugs, facilities, modes, opening times).
    .addColumn("record", "text", (c) => c.notNull())
    .addColumn("last_update", "text")
    .addColumn("status", "text")
    .addColumn("status_at", "text")
    .addColumn("seen_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("deleted", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("catalogue_evses_cell_idx").on("catalogue_evses").columns(["grid_cell", "latitude", "longitude"]).execute();
  await db.schema.createIndex("catalogue_evses_seen_idx").on("catalogue_evses").columns(["seen_at"]).execute();
  await db.schema
    .createTable("catalogue_sync")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("mode", "text", (c) => c.notNull())
    .addColumn("page", "integer", (c) => c.notNull())
    .addColumn("started_at", "text")
    .addColumn("last_call", "text")
    .execute();
}
