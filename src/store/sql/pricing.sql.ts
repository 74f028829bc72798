// The pricing store on SQL (src/pricing/ports.ts PricingStore), in the gateway's database.
// A full load replaces everything stored for the operators it asked about; a delta upserts what
// came (pricing answers carry no delete marker: a product that disappears goes at the next full
// load, docs/oicp.md#pricing). Each save is one transaction, with its sync state.
import type { Kysely, Transaction } from "kysely";
import { evseIdKey, operatorIdKey } from "../../oicp/wire/identifiers.js";
import type { SaveMode as Mode, PricingPull, PricingStore, PricingSyncState } from "../../pricing/ports.js";
import type { EvseProducts, OperatorDefaultPrice, OperatorPricing, PricingProduct, ReferenceUnit } from "../../pricing/pricing.js";
import type { Database } from "./tables.js";

const CHUNK = 200;

export class SqlPricingStore implements PricingStore {
  constructor(private readonly db: Kysely<Database>) {}

  async syncState(pull: PricingPull): Promise<PricingSyncState> {
    const row = await this.db.selectFrom("pricing_sync").selectAll().where("name", "=", pull).executeTakeFirst();
    return { lastCall: row?.last_call ? new Date(row.last_call) : null, lastFullAt: row?.last_full_at ? new Date(row.last_full_at) : null };
  }

  async saveProducts(operators: OperatorPricing[], mode: Mode): Promise<void> {
    const at = mode.at.toISOString();
    await this.db.transaction().execute(async (trx) => {
      if (mode.full) {
        const keys = mode.operatorIds.map(operatorIdKey);
        for (const part of chunks(keys)) {
          await trx.deleteFrom("pricing_products").where("operator_key", "in", part).execute();
          await trx.deleteFrom("pricing_operator_defaults").where("operator_key", "in", part).execute();
        }
      }
      for (const { defaults, products } of operators) {
        const operatorKey = operatorIdKey(defaults.operatorId);
        const row = {
          operator_key: operatorKey,
          provider_id: defaults.providerId,
          operator_id: defaults.operatorId,
          operator_name: defaults.operatorName,
          price: defaults.price,
          currency: defaults.currency,
          reference_unit: defaults.referenceUnit,
          updated_at: at,
        };
        await trx
          .insertInto("pricing_operator_defaults")
          .values(row)
          .onConflict((oc) => oc.columns(["operator_key", "provider_id"]).doUpdateSet(row))
          .execute();
        for (const product of products) {
          const values = {
            operator_key: operatorKey,
            provider_id: product.providerId,
            product_id: product.productId,
            operator_id: product.operatorId,
            reference_unit: product.referenceUnit,
            price_per_reference_unit: product.pricePerReferenceUnit,
            currency: product.currency,
            maximum_power_kw: product.maximumPowerKw,
            is_valid_24_hours: product.isValid24Hours ? 1 : 0,
            availability: JSON.stringify(product.availability),
            additional_references: JSON.stringify(product.additionalReferences),
            updated_at: at,
          };
          await trx
            .insertInto("pricing_products")
            .values(values)
            .onConflict((oc) => oc.columns(["operator_key", "provider_id", "product_id"]).doUpdateSet(values))
            .execute();
        }
      }
      if (mode.recordSync) await saveSync(trx, "pricing-products", mode);
    });
  }

  async saveEvseProducts(evses: EvseProducts[], mode: Mode): Promise<void> {
    const at = mode.at.toISOString();
    await this.db.transaction().execute(async (trx) => {
      if (mode.full) {
        for (const part of chunks(mode.operatorIds.map(operatorIdKey))) {
          await trx.deleteFrom("pricing_evse_products").where("operator_key", "in", part).execute();
        }
      }
      for (const evse of evses) {
        const values = {
          evse_key: evseIdKey(evse.evseId),
          provider_id: evse.providerId,
          evse_id: evse.evseId,
          operator_key: operatorIdKey(evse.operatorId),
          product_ids: JSON.stringify(evse.productIds),
          updated_at: at,
        };
        await trx
          .insertInto("pricing_evse_products")
          .values(values)
          .onConflict((oc) => oc.columns(["evse_key", "provider_id"]).doUpdateSet(values))
          .execute();
      }
      if (mode.recordSync) await saveSync(trx, "evse-pricing", mode);
    });
  }

  async productsAt(evseIds: readonly string[], providerIds: readonly string[]): Promise<Map<string, PricingProduct[]>> {
    const result = new Map<string, PricingProduct[]>();
    if (evseIds.length === 0) return result;
    const byKey = new Map<string, string[]>();
    for (const id of evseIds) byKey.set(evseIdKey(id), [...(byKey.get(evseIdKey(id)) ?? []), id]);
    const lists = [];
    for (const part of chunks([...byKey.keys()])) {
      lists.push(
        ...(await this.db
          .selectFrom("pricing_evse_products")
          .selectAll()
          .where("evse_key", "in", part)
          .where("provider_id", "in", [...providerIds])
          .execute()),
      );
    }
    const wanted = new Map<string, Set<string>>();
    for (const list of lists) {
      const set = wanted.get(list.operator_key) ?? new Set<string>();
      for (const id of JSON.parse(list.product_ids) as string[]) set.add(id);
      wanted.set(list.operator_key, set);
    }
    const products = new Map<string, PricingProduct>();
    for (const [operatorKey, ids] of wanted) {
      for (const part of chunks([...ids])) {
        const rows = await this.db
          .selectFrom("pricing_products")
          .selectAll()
          .where("operator_key", "=", operatorKey)
          .where("product_id", "in", part)
          .where("provider_id", "in", [...providerIds])
          .execute();
        // Our own ProviderID's product wins over the same product offered to all ("*").
        for (const row of rows) {
          const key = `${operatorKey}/${row.product_id}`;
          if (!products.has(key) || row.provider_id !== "*") products.set(key, toProduct(row));
        }
      }
    }
    for (const list of lists) {
      const found = (JSON.parse(list.product_ids) as string[])
        .map((id) => products.get(`${list.operator_key}/${id}`))
        .filter((p): p is PricingProduct => p !== undefined);
      for (const evseId of byKey.get(list.evse_key) ?? []) {
        const seen = result.get(evseId) ?? [];
        for (const product of found) if (!seen.some((p) => p.productId === product.productId)) seen.push(product);
        result.set(evseId, seen);
      }
    }
    return result;
  }

  /** The operators of the EVSE catalogue (migration 0006): whose prices the sync asks for. */
  async catalogueOperatorIds(): Promise<string[]> {
    const rows = await this.db.selectFrom("catalogue_evses").select("operator_id").where("deleted", "=", 0).distinct().execute();
    return rows.map((r) => r.operator_id);
  }

  async hasPricing(evseId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("pricing_evse_products")
      .select("evse_key")
      .where("evse_key", "=", evseIdKey(evseId))
      .executeTakeFirst();
    return row !== undefined;
  }

  async defaultPrice(operatorId: string, providerIds: readonly string[]): Promise<OperatorDefaultPrice | null> {
    const rows = await this.db
      .selectFrom("pricing_operator_defaults")
      .selectAll()
      .where("operator_key", "=", operatorIdKey(operatorId))
      .where("provider_id", "in", [...providerIds])
      .execute();
    const row = rows.find((r) => r.provider_id !== "*") ?? rows[0];
    if (!row) return null;
    return {
      operatorId: row.operator_id,
      operatorName: row.operator_name,
      providerId: row.provider_id,
      price: row.price,
      currency: row.currency,
      referenceUnit: row.reference_unit as ReferenceUnit,
    };
  }
}

async function saveSync(trx: Transaction<Database>, name: PricingPull, mode: Mode): Promise<void> {
  const at = mode.at.toISOString();
  const previous = await trx.selectFrom("pricing_sync").selectAll().where("name", "=", name).executeTakeFirst();
  const values = { name, last_call: at, last_full_at: mode.full ? at : (previous?.last_full_at ?? null) };
  await trx
    .insertInto("pricing_sync")
    .values(values)
    .onConflict((oc) => oc.column("name").doUpdateSet(values))
    .execute();
}

function toProduct(row: Database["pricing_products"]): PricingProduct {
  return {
    operatorId: row.operator_id,
    providerId: row.provider_id,
    productId: row.product_id,
    referenceUnit: row.reference_unit as ReferenceUnit,
    pricePerReferenceUnit: row.price_per_reference_unit,
    currency: row.currency,
    maximumPowerKw: row.maximum_power_kw,
    isValid24Hours: row.is_valid_24_hours === 1,
    availability: JSON.parse(row.availability) as PricingProduct["availability"],
    additionalReferences: JSON.parse(row.additional_references) as PricingProduct["additionalReferences"],
  };
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
