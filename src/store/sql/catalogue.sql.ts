// CatalogueStore over Kysely: catalogue_evses and catalogue_sync (migration 0006). Portable SQL
// only. A search reads the grid cells its bounding box touches (an indexed IN list) and the box;
// the exact distance is computed by the caller (src/catalogue/search.ts).
import type { Kysely, Selectable } from "kysely";
import { type CatalogueEntry, type CatalogueEvse, type EvseStatusChange, gridCell } from "../../catalogue/catalogue.js";
import type { CandidateQuery, CatalogueStore, SyncCursor } from "../../catalogue/ports.js";
import { evseIdKey } from "../../oicp/wire/identifiers.js";
import type { OicpEvseStatus } from "../../oicp/wire/types.js";
import { toIso } from "./rows.js";
import type { CatalogueEvsesTable, Database } from "./tables.js";

/** Rows per INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters (16 columns). */
const INSERT_CHUNK = 500;
const IN_LIST_CHUNK = 500;

type StoredRecord = Omit<
  CatalogueEvse,
  "evseId" | "operatorId" | "stationId" | "latitude" | "longitude" | "maxPowerKw" | "isHubjectCompatible" | "lastUpdate"
>;

export class SqlCatalogueStore implements CatalogueStore {
  constructor(private readonly db: Kysely<Database>) {}

  async upsertEvses(records: readonly CatalogueEvse[], seenAt: Date): Promise<void> {
    if (records.length === 0) return;
    const seen = toIso(seenAt);
    const now = toIso(new Date());
    // One row per EVSE key: the last record of a page wins.
    const byKey = new Map(records.map((r) => [evseIdKey(r.evseId), r]));
    const rows = [...byKey].map(([key, r]) => ({
      evse_key: key,
      evse_id: r.evseId,
      operator_id: r.operatorId,
      station_id: r.stationId,
      grid_cell: gridCell(r.latitude, r.longitude),
      latitude: r.latitude,
      longitude: r.longitude,
      max_power_kw: r.maxPowerKw,
      is_hubject_compatible: r.isHubjectCompatible ? 1 : 0,
      record: JSON.stringify(storedRecord(r)),
      last_update: r.lastUpdate ? toIso(r.lastUpdate) : null,
      status: null,
      status_at: null,
      seen_at: seen,
      updated_at: now,
      deleted: 0,
    }));
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx
          .insertInto("catalogue_evses")
          .values(rows.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) =>
            oc.column("evse_key").doUpdateSet((eb) => ({
              evse_id: eb.ref("excluded.evse_id"),
              operator_id: eb.ref("excluded.operator_id"),
              station_id: eb.ref("excluded.station_id"),
              grid_cell: eb.ref("excluded.grid_cell"),
              latitude: eb.ref("excluded.latitude"),
              longitude: eb.ref("excluded.longitude"),
              max_power_kw: eb.ref("excluded.max_power_kw"),
              is_hubject_compatible: eb.ref("excluded.is_hubject_compatible"),
              record: eb.ref("excluded.record"),
              last_update: eb.ref("excluded.last_update"),
              seen_at: eb.ref("excluded.seen_at"),
              updated_at: eb.ref("excluded.updated_at"),
              deleted: 0,
            })),
          )
          .execute();
      }
    });
  }

  async markDeleted(evseIds: readonly string[], at: Date): Promise<number> {
    let count = 0;
    const keys = [...new Set(evseIds.map(evseIdKey))];
    for (let i = 0; i < keys.length; i += IN_LIST_CHUNK) {
      const result = await this.db
        .updateTable("catalogue_evses")
        .set({ deleted: 1, updated_at: toIso(at) })
        .where("evse_key", "in", keys.slice(i, i + IN_LIST_CHUNK))
        .where("deleted", "=", 0)
        .executeTakeFirst();
      count += Number(result.numUpdatedRows);
    }
    return count;
  }

  async markDeletedUnseenSince(seenAt: Date, at: Date): Promise<number> {
    const result = await this.db
      .updateTable("catalogue_evses")
      .set({ deleted: 1, updated_at: toIso(at) })
      .where("seen_at", "<", toIso(seenAt))
      .where("deleted", "=", 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async applyStatuses(statuses: ReadonlyArray<{ evseId: string; status: OicpEvseStatus }>, observedAt: Date): Promise<EvseStatusChange[]> {
    const at = toIso(observedAt);
    const wanted = new Map(statuses.map((s) => [evseIdKey(s.evseId), s]));
    const changes: EvseStatusChange[] = [];
    const keys = [...wanted.keys()];
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < keys.length; i += IN_LIST_CHUNK) {
        const chunk = keys.slice(i, i + IN_LIST_CHUNK);
        const rows = await trx
          .selectFrom("catalogue_evses")
          .select(["evse_key", "evse_id", "status", "status_at"])
          .where("evse_key", "in", chunk)
          .execute();
        const changed: string[] = [];
        const refreshed: string[] = [];
        for (const row of rows) {
          // An older observation never overwrites a newer one.
          if (row.status_at !== null && row.status_at > at) continue;
          const next = wanted.get(row.evse_key)!;
          if (row.status !== next.status) {
            changes.push({ evseId: row.evse_id, status: next.status, observedAt });
            changed.push(row.evse_key);
          } else refreshed.push(row.evse_key);
        }
        if (refreshed.length > 0) {
          await trx.updateTable("catalogue_evses").set({ status_at: at }).where("evse_key", "in", refreshed).execute();
        }
        // Grouped by value: one UPDATE per status.
        const byStatus = new Map<string, string[]>();
        for (const key of changed) {
          const status = wanted.get(key)!.status;
          byStatus.set(status, [...(byStatus.get(status) ?? []), key]);
        }
        for (const [status, group] of byStatus) {
          await trx.updateTable("catalogue_evses").set({ status, status_at: at }).where("evse_key", "in", group).execute();
        }
      }
    });
    return changes;
  }

  async candidates(query: CandidateQuery): Promise<CatalogueEntry[]> {
    if (query.cells.length === 0) return [];
    let q = this.db
      .selectFrom("catalogue_evses")
      .selectAll()
      .where("grid_cell", "in", [...query.cells])
      .where("latitude", ">=", query.box.minLatitude)
      .where("latitude", "<=", query.box.maxLatitude)
      .where("deleted", "=", 0);
    // The box's longitudes may pass ±180: then the cells alone narrow it.
    if (query.box.minLongitude >= -180 && query.box.maxLongitude <= 180) {
      q = q.where("longitude", ">=", query.box.minLongitude).where("longitude", "<=", query.box.maxLongitude);
    }
    if (query.minPowerKw != null) q = q.where("max_power_kw", ">=", query.minPowerKw);
    if (query.operatorIds && query.operatorIds.length > 0) q = q.where("operator_id", "in", [...query.operatorIds]);
    if (query.onlyAvailable) q = q.where("status", "=", "Available");
    const rows = await q.execute();
    return rows.map(rowToEntry);
  }

  async evses(evseIds: readonly string[]): Promise<Map<string, CatalogueEntry>> {
    const found = new Map<string, CatalogueEntry>();
    const keys = [...new Set(evseIds.map(evseIdKey))];
    for (let i = 0; i < keys.length; i += IN_LIST_CHUNK) {
      const rows = await this.db
        .selectFrom("catalogue_evses")
        .selectAll()
        .where("evse_key", "in", keys.slice(i, i + IN_LIST_CHUNK))
        .where("deleted", "=", 0)
        .execute();
      for (const row of rows) found.set(row.evse_key, rowToEntry(row));
    }
    return new Map(evseIds.flatMap((id) => (found.has(evseIdKey(id)) ? [[id, found.get(evseIdKey(id))!] as const] : [])));
  }

  async countEvses(): Promise<number> {
    const row = await this.db
      .selectFrom("catalogue_evses")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("deleted", "=", 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async syncCursor(name: string): Promise<SyncCursor | null> {
    const row = await this.db.selectFrom("catalogue_sync").selectAll().where("name", "=", name).executeTakeFirst();
    if (!row) return null;
    return {
      mode: row.mode === "delta" ? "delta" : "full",
      page: Number(row.page),
      startedAt: row.started_at ? new Date(row.started_at) : null,
      lastCall: row.last_call ? new Date(row.last_call) : null,
    };
  }

  async saveSyncCursor(name: string, cursor: SyncCursor): Promise<void> {
    const values = {
      mode: cursor.mode,
      page: cursor.page,
      started_at: cursor.startedAt ? toIso(cursor.startedAt) : null,
      last_call: cursor.lastCall ? toIso(cursor.lastCall) : null,
    };
    await this.db
      .insertInto("catalogue_sync")
      .values({ name, ...values })
      .onConflict((oc) => oc.column("name").doUpdateSet(values))
      .execute();
  }
}

function storedRecord(r: CatalogueEvse): StoredRecord {
  return {
    operatorName: r.operatorName,
    stationName: r.stationName,
    address: r.address,
    plugs: r.plugs,
    facilities: r.facilities,
    authenticationModes: r.authenticationModes,
    paymentOptions: r.paymentOptions,
    accessibility: r.accessibility,
    isOpen24Hours: r.isOpen24Hours,
    openingTimes: r.openingTimes,
  };
}

function rowToEntry(row: Selectable<CatalogueEvsesTable>): CatalogueEntry {
  const stored = JSON.parse(row.record) as StoredRecord;
  return {
    ...stored,
    evseId: row.evse_id,
    operatorId: row.operator_id,
    stationId: row.station_id,
    latitude: Number(row.latitude),
    longitude: Number(row.longitude),
    maxPowerKw: Number(row.max_power_kw),
    isHubjectCompatible: Number(row.is_hubject_compatible) === 1,
    lastUpdate: row.last_update ? new Date(row.last_update) : null,
    status: row.status && row.status_at ? { status: row.status as OicpEvseStatus, observedAt: new Date(row.status_at) } : null,
  };
}
