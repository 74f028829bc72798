// IdentificationStore over Kysely: the identifications table. Portable SQL only (SQLite and
// PostgreSQL), like the rest of the store; conditional writes on `version`, no in-process locks.
import type { Kysely, Selectable } from "kysely";
import {
  type BlockedBy,
  credentialKeyOf,
  type Identification,
  type IdentificationStatus,
  type IdentificationType,
  type RfidType,
} from "../../identifications/identification.js";
import type { IdentificationPageQuery, IdentificationRecord, IdentificationStore, PushState } from "../../identifications/ports.js";
import { evcoIdKey } from "../../oicp/wire/identifiers.js";
import { toIso } from "./rows.js";
import type { Database, IdentificationsTable } from "./tables.js";

type IdentificationRow = Selectable<IdentificationsTable>;
/** Keeps `IN (...)` lists well under both engines' bound-parameter limits. */
const IN_LIST_CHUNK = 500;

export class SqlIdentificationStore implements IdentificationStore {
  constructor(private readonly db: Kysely<Database>) {}

  async saveIdentifications(records: readonly IdentificationRecord[], now: Date): Promise<Identification[]> {
    if (records.length === 0) return [];
    const at = toIso(now);
    return this.db.transaction().execute(async (trx) => {
      const saved: Identification[] = [];
      for (const record of records) {
        const key = credentialKeyOf(record);
        const values = recordToRow(record, key, at);
        // One card is one card: a registration with the same credential replaces the stored one
        // (keeping its id), with a new version and pending for Hubject again.
        const row = await trx
          .insertInto("identifications")
          .values({ ...values, created_at: at, version: 1, pushed_hash: null, push_pending: 1 })
          .onConflict((oc) =>
            oc.column("credential_key").doUpdateSet((eb) => ({
              driver_id: values.driver_id,
              evco_id: values.evco_id,
              evco_key: values.evco_key,
              type: values.type,
              uid: values.uid,
              rfid_type: values.rfid_type,
              printed_number: values.printed_number,
              expires_at: values.expires_at,
              pin_hash: values.pin_hash,
              status: values.status,
              blocked_by: values.blocked_by,
              updated_at: at,
              version: eb(eb.ref("identifications.version"), "+", 1),
              push_pending: 1,
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        saved.push(rowToIdentification(row));
      }
      return saved;
    });
  }

  async identification(id: string): Promise<Identification | undefined> {
    const row = await this.db.selectFrom("identifications").selectAll().where("id", "=", id).executeTakeFirst();
    return row && rowToIdentification(row);
  }

  async identificationByCredential(key: string): Promise<Identification | undefined> {
    const row = await this.db.selectFrom("identifications").selectAll().where("credential_key", "=", key).executeTakeFirst();
    return row && rowToIdentification(row);
  }

  async identificationsByCredential(keys: readonly string[]): Promise<Identification[]> {
    const found: Identification[] = [];
    for (let i = 0; i < keys.length; i += IN_LIST_CHUNK) {
      const chunk = keys.slice(i, i + IN_LIST_CHUNK);
      if (chunk.length === 0) continue;
      const rows = await this.db.selectFrom("identifications").selectAll().where("credential_key", "in", chunk).execute();
      found.push(...rows.map(rowToIdentification));
    }
    return found;
  }

  async listIdentifications(query: IdentificationPageQuery): Promise<{ identifications: Identification[]; hasNextPage: boolean }> {
    let q = this.db.selectFrom("identifications").selectAll();
    if (query.driverId !== undefined) q = q.where("driver_id", "=", query.driverId);
    if (query.after !== undefined) q = q.where("id", ">", query.after);
    const rows = await q
      .orderBy("id")
      .limit(query.first + 1)
      .execute();
    return { identifications: rows.slice(0, query.first).map(rowToIdentification), hasNextPage: rows.length > query.first };
  }

  async setIdentificationStatus(
    id: string,
    change: { status: IdentificationStatus; blockedBy: BlockedBy | null; expectedVersion: number },
    now: Date,
  ): Promise<Identification | null> {
    const row = await this.db
      .updateTable("identifications")
      .set({
        status: change.status,
        blocked_by: change.blockedBy,
        updated_at: toIso(now),
        version: change.expectedVersion + 1,
        push_pending: 1,
      })
      .where("id", "=", id)
      .where("version", "=", change.expectedVersion)
      .returningAll()
      .executeTakeFirst();
    return row ? rowToIdentification(row) : null;
  }

  async pendingPush(limit: number): Promise<Array<Identification & PushState>> {
    const rows = await this.db
      .selectFrom("identifications")
      .selectAll()
      .where("push_pending", "=", 1)
      .orderBy("updated_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(withPushState);
  }

  async allForPush(after: string | null, limit: number): Promise<Array<Identification & PushState>> {
    let q = this.db.selectFrom("identifications").selectAll();
    if (after !== null) q = q.where("id", ">", after);
    const rows = await q.orderBy("id").limit(limit).execute();
    return rows.map(withPushState);
  }

  async markPushed(results: ReadonlyArray<{ id: string; version: number; pushedHash: string | null }>): Promise<void> {
    if (results.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const result of results) {
        // What Hubject holds is recorded whatever happened since; only the push of the current version clears the flag.
        await trx.updateTable("identifications").set({ pushed_hash: result.pushedHash }).where("id", "=", result.id).execute();
        await trx
          .updateTable("identifications")
          .set({ push_pending: 0 })
          .where("id", "=", result.id)
          .where("version", "=", result.version)
          .execute();
      }
    });
  }

  async markAllPending(): Promise<void> {
    await this.db.updateTable("identifications").set({ push_pending: 1 }).execute();
  }
}

function recordToRow(record: IdentificationRecord, credentialKey: string, at: string) {
  return {
    id: record.id,
    driver_id: record.driverId,
    evco_id: record.evcoId,
    evco_key: evcoIdKey(record.evcoId),
    type: record.type,
    uid: record.uid,
    credential_key: credentialKey,
    rfid_type: record.rfidType,
    printed_number: record.printedNumber,
    expires_at: record.expiresAt ? toIso(record.expiresAt) : null,
    pin_hash: record.pinHash,
    status: record.status,
    blocked_by: record.blockedBy,
    updated_at: at,
  };
}

export function rowToIdentification(row: IdentificationRow): Identification {
  return {
    id: row.id,
    driverId: row.driver_id,
    evcoId: row.evco_id,
    type: row.type as IdentificationType,
    uid: row.uid,
    rfidType: row.rfid_type as RfidType | null,
    printedNumber: row.printed_number,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
    pinHash: row.pin_hash,
    status: row.status as IdentificationStatus,
    blockedBy: row.blocked_by as BlockedBy | null,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    version: Number(row.version),
  };
}

const withPushState = (row: IdentificationRow): Identification & PushState => ({
  ...rowToIdentification(row),
  pushedHash: row.pushed_hash,
});
