// The inbound_messages table: every message Hubject sent, stored as received, with what became
// of it. Portable SQL only (SQLite and PostgreSQL), like the rest of the store.
import type { Kysely } from "kysely";
import { sessionIdKey } from "../../oicp/wire/identifiers.js";
import type { InboundKind, InboundMessage, InboundState, InboundUpdate, StoredInboundMessage } from "../../sessions/session.store.js";
import { inboundToRow, rowToInbound, toIso } from "./rows.js";
import type { Database } from "./tables.js";

export async function recordInbound(
  db: Kysely<Database>,
  message: InboundMessage,
): Promise<{ seq: number } | { holder: StoredInboundMessage }> {
  // ON CONFLICT DO NOTHING + RETURNING: a taken dedupe key returns no row and raises no error,
  // on SQLite and PostgreSQL alike (and leaves a PostgreSQL transaction usable).
  const row = await db
    .insertInto("inbound_messages")
    .values(inboundToRow(message))
    .onConflict((oc) => oc.column("dedupe_key").doNothing())
    .returning("seq")
    .executeTakeFirst();
  if (row) return { seq: Number(row.seq) };
  const holder = await db.selectFrom("inbound_messages").selectAll().where("dedupe_key", "=", message.dedupeKey).executeTakeFirst();
  // Only possible if the holder was pruned between the two statements: store this one instead.
  if (!holder) return recordInbound(db, message);
  return { holder: rowToInbound(holder) };
}

export async function updateInbound(db: Kysely<Database>, seq: number, update: InboundUpdate): Promise<void> {
  await db
    .updateTable("inbound_messages")
    .set({
      state: update.state,
      ...(update.sessionId !== undefined ? { session_id: update.sessionId } : {}),
      ...(update.problem !== undefined ? { problem: update.problem } : {}),
      ...(update.anomalies !== undefined ? { anomalies: update.anomalies.length === 0 ? null : JSON.stringify(update.anomalies) } : {}),
      ...(update.releaseDedupeKey ? { dedupe_key: null } : {}),
    })
    .where("seq", "=", seq)
    .execute();
}

export async function inboundBySeq(db: Kysely<Database>, seq: number): Promise<StoredInboundMessage | undefined> {
  const row = await db.selectFrom("inbound_messages").selectAll().where("seq", "=", seq).executeTakeFirst();
  return row && rowToInbound(row);
}

export async function inboundInState(db: Kysely<Database>, state: InboundState, limit: number): Promise<StoredInboundMessage[]> {
  const rows = await db.selectFrom("inbound_messages").selectAll().where("state", "=", state).orderBy("seq", "asc").limit(limit).execute();
  return rows.map(rowToInbound);
}

export async function waitingInbound(db: Kysely<Database>, hubjectSessionId: string): Promise<StoredInboundMessage[]> {
  const rows = await db
    .selectFrom("inbound_messages")
    .selectAll()
    .where("hubject_session_key", "=", sessionIdKey(hubjectSessionId))
    .where("state", "=", "waiting")
    .orderBy("seq", "asc")
    .execute();
  return rows.map(rowToInbound);
}

export async function waitingInboundBetween(
  db: Kysely<Database>,
  after: Date,
  before: Date,
  limit: number,
): Promise<StoredInboundMessage[]> {
  const rows = await db
    .selectFrom("inbound_messages")
    .selectAll()
    .where("state", "in", ["waiting", "received"])
    .where("received_at", ">=", toIso(after))
    .where("received_at", "<", toIso(before))
    .orderBy("seq", "asc")
    .limit(limit)
    .execute();
  return rows.map(rowToInbound);
}

export async function pruneInbound(db: Kysely<Database>, before: Date): Promise<number> {
  // duplicate_of is a plain number, not a foreign key: a copy may outlive what it repeated.
  const result = await db.deleteFrom("inbound_messages").where("received_at", "<", toIso(before)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A stored message of this kind with this content, if any (the CDR back-fill's "have we got it"). */
export async function inboundWithContent(db: Kysely<Database>, kind: InboundKind, contentHash: string): Promise<number | undefined> {
  const row = await db
    .selectFrom("inbound_messages")
    .select("seq")
    .where("kind", "=", kind)
    .where("content_hash", "=", contentHash)
    .orderBy("seq", "asc")
    .limit(1)
    .executeTakeFirst();
  return row?.seq;
}
