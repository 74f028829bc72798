// Issue 11 (billing truth):
// - comparison keys next to the identifiers (oicp/wire/identifiers.ts: sessionIdKey, evseIdKey,
//   evcoIdKey), which the unique indexes and every match use, so a SessionID in other case or
//   an EvseID without its `*` lands on the same session;
// - every inbound message stored as the text it came in, whatever reading makes of it, with
//   what became of it (state, problem, anomalies, the message it duplicates);
// - the charger's offsets and the anomalies on each session.
// The key expressions here do in SQL what the key functions do in TypeScript, for rows written
// before this migration; a test checks that both agree.
// Released: never edit; add a migration instead.
import { sql } from "kysely";
import type { SqlFlavor } from "../tables.js";
import type { MigrationDb } from "./migration.js";

const sessionKey = (column: string) => sql`lower(trim(${sql.ref(column)}))`;
const evseKey = (column: string) => sql`replace(upper(trim(${sql.ref(column)})), '*', '')`;
const evcoKey = (column: string) => sql`replace(replace(upper(trim(${sql.ref(column)})), '-', ''), '*', '')`;

export async function up(db: MigrationDb, flavor: SqlFlavor): Promise<void> {
  await sessions(db);
  if (flavor === "postgres") await inboundOnPostgres(db);
  else await inboundOnSqlite(db);
  await inboundIndexes(db);
  await contracts(db);
}

async function sessions(db: MigrationDb): Promise<void> {
  for (const column of ["hubject_session_key", "offsets", "anomalies"]) {
    await db.schema.alterTable("charging_sessions").addColumn(column, "text").execute();
  }
  for (const column of ["evse_key", "evco_key"]) {
    await db.schema
      .alterTable("charging_sessions")
      .addColumn(column, "text", (c) => c.notNull().defaultTo(""))
      .execute();
  }
  await db
    .updateTable("charging_sessions")
    .set({ hubject_session_key: sessionKey("hubject_session_id"), evse_key: evseKey("evse_id"), evco_key: evcoKey("evco_id") })
    .execute();

  await db.schema.dropIndex("charging_sessions_hubject_session_id_uq").ifExists().execute();
  await db.schema
    .createIndex("charging_sessions_hubject_session_key_uq")
    .unique()
    .on("charging_sessions")
    .column("hubject_session_key")
    .where("hubject_session_key", "is not", null)
    .execute();
  await db.schema.dropIndex("charging_sessions_one_request_uq").ifExists().execute();
  await db.schema
    .createIndex("charging_sessions_one_request_uq")
    .unique()
    .on("charging_sessions")
    .columns(["driver_id", "evse_key"])
    .where(sql.ref("status"), "=", sql.lit("REQUESTED"))
    .execute();
  await db.schema.dropIndex("charging_sessions_evse_evco_idx").ifExists().execute();
  await db.schema.createIndex("charging_sessions_evse_evco_idx").on("charging_sessions").columns(["evse_key", "evco_key"]).execute();
}

/** PostgreSQL changes columns in place. */
async function inboundOnPostgres(db: MigrationDb): Promise<void> {
  for (const column of ["type", "hubject_session_id", "evse_id", "dedupe_key"]) {
    await db.schema
      .alterTable("inbound_messages")
      .alterColumn(column, (c) => c.dropNotNull())
      .execute();
  }
  await addInboundColumns(db);
  await backfillInbound(db);
}

/** SQLite cannot drop NOT NULL: the table is rebuilt with the new shape and the rows copied. */
async function inboundOnSqlite(db: MigrationDb): Promise<void> {
  await sql`alter table inbound_messages rename to inbound_messages_0002`.execute(db);
  await db.schema.dropIndex("inbound_messages_hubject_session_id_idx").ifExists().execute();
  await db.schema.dropIndex("inbound_messages_unattached_idx").ifExists().execute();
  await db.schema
    .createTable("inbound_messages")
    .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("type", "text")
    .addColumn("hubject_session_id", "text")
    .addColumn("emp_partner_session_id", "text")
    .addColumn("evse_id", "text")
    .addColumn("evco_id", "text")
    .addColumn("dedupe_key", "text", (c) => c.unique())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("received_at", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.references("charging_sessions.id").onDelete("set null"))
    .execute();
  await sql`insert into inbound_messages (seq, kind, type, hubject_session_id, emp_partner_session_id, evse_id, evco_id, dedupe_key, body, received_at, session_id)
            select seq, kind, type, hubject_session_id, emp_partner_session_id, evse_id, evco_id, dedupe_key, body, received_at, session_id
            from inbound_messages_0002`.execute(db);
  await db.schema.dropTable("inbound_messages_0002").execute();
  await addInboundColumns(db);
  await backfillInbound(db);
}

async function addInboundColumns(db: MigrationDb): Promise<void> {
  await db.schema
    .alterTable("inbound_messages")
    .addColumn("source", "text", (c) => c.notNull().defaultTo("push"))
    .execute();
  await db.schema
    .alterTable("inbound_messages")
    .addColumn("state", "text", (c) => c.notNull().defaultTo("received"))
    .execute();
  for (const column of ["operator_id", "hubject_session_key", "evse_key", "content_hash", "problem", "anomalies"]) {
    await db.schema.alterTable("inbound_messages").addColumn(column, "text").execute();
  }
  await db.schema.alterTable("inbound_messages").addColumn("duplicate_of", "integer").execute();
}

async function backfillInbound(db: MigrationDb): Promise<void> {
  await db
    .updateTable("inbound_messages")
    .set({
      hubject_session_key: sessionKey("hubject_session_id"),
      evse_key: evseKey("evse_id"),
      // Before this migration a stored message was either applied to its session or waiting for it.
      state: sql`case when session_id is null then 'waiting' else 'applied' end`,
    })
    .execute();
}

async function inboundIndexes(db: MigrationDb): Promise<void> {
  await db.schema.dropIndex("inbound_messages_hubject_session_id_idx").ifExists().execute();
  await db.schema.dropIndex("inbound_messages_unattached_idx").ifExists().execute();
  // Waiting messages are found by SessionID (once the start answer names it) and by time (the sweep).
  await db.schema
    .createIndex("inbound_messages_session_key_idx")
    .on("inbound_messages")
    .columns(["hubject_session_key", "state"])
    .execute();
  // The operator's lists (rejected, conflict, mismatch) and retention read by state and time.
  await db.schema.createIndex("inbound_messages_state_idx").on("inbound_messages").columns(["state", "received_at"]).execute();
  await db.schema.createIndex("inbound_messages_received_idx").on("inbound_messages").column("received_at").execute();
}

/** driver_contracts is keyed by evcoIdKey: two spellings of one contract collapse, the latest seen stays. */
async function contracts(db: MigrationDb): Promise<void> {
  await sql`delete from driver_contracts
            where exists (select 1 from driver_contracts newer
                          where ${evcoKey("newer.evco_id")} = ${evcoKey("driver_contracts.evco_id")}
                            and (newer.seen_at > driver_contracts.seen_at
                                 or (newer.seen_at = driver_contracts.seen_at and newer.evco_id > driver_contracts.evco_id)))`.execute(db);
  await db
    .updateTable("driver_contracts")
    .set({ evco_id: evcoKey("evco_id") })
    .execute();
}
