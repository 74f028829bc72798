// Dynamic pricing (src/pricing, docs/oicp.md#pricing): the pricing products of each operator, per
// ProviderID (ours, or "*" for all EMPs), the operator's default price, which products each EVSE
// offers, and where the two pulls stand. Prices are exact decimal text, never a float column.
// Released: never edit; add a migration instead.
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

export async function up(db: MigrationDb, _flavor: SqlFlavor): Promise<void> {
  await db.schema
    .createTable("pricing_products")
    // operatorIdKey (docs/oicp.md#identifiers): one operator however it is spelt.
    .addColumn("operator_key", "text", (c) => c.notNull())
    .addColumn("provider_id", "text", (c) => c.notNull())
    .addColumn("product_id", "text", (c) => c.notNull())
    .addColumn("operator_id", "text", (c) => c.notNull())
    .addColumn("reference_unit", "text", (c) => c.notNull())
    .addColumn("price_per_reference_unit", "text", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("maximum_power_kw", "text", (c) => c.notNull())
    .addColumn("is_valid_24_hours", "integer", (c) => c.notNull())
    // JSON text: [{ on, periods: [{ begin, end }] }] and [{ kind, unit, pricePerUnit }].
    .addColumn("availability", "text", (c) => c.notNull())
    .addColumn("additional_references", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("pricing_products_pk", ["operator_key", "provider_id", "product_id"])
    .execute();
  await db.schema
    .createTable("pricing_operator_defaults")
    .addColumn("operator_key", "text", (c) => c.notNull())
    .addColumn("provider_id", "text", (c) => c.notNull())
    .addColumn("operator_id", "text", (c) => c.notNull())
    .addColumn("operator_name", "text")
    .addColumn("price", "text", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("reference_unit", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("pricing_operator_defaults_pk", ["operator_key", "provider_id"])
    .execute();
  await db.schema
    .createTable("pricing_evse_products")
    // evseIdKey (docs/oicp.md#e11).
    .addColumn("evse_key", "text", (c) => c.notNull())
    .addColumn("provider_id", "text", (c) => c.notNull())
    .addColumn("evse_id", "text", (c) => c.notNull())
    .addColumn("operator_key", "text", (c) => c.notNull())
    // JSON text: ["AC1", "DC"], in Hubject's order.
    .addColumn("product_ids", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("pricing_evse_products_pk", ["evse_key", "provider_id"])
    .execute();
  await db.schema.createIndex("pricing_evse_products_operator_idx").on("pricing_evse_products").columns(["operator_key"]).execute();
  await db.schema
    .createTable("pricing_sync")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("last_call", "text")
    .addColumn("last_full_at", "text")
    .execute();
}
