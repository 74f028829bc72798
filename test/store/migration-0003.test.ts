// Migration 0003 writes the comparison keys of rows stored before it with SQL expressions; every
// later write uses the TypeScript key functions. Both must agree, on SQLite and PostgreSQL, and
// the inbound messages stored before must keep their body and say what became of them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Kysely, Migrator, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { evcoIdKey, evseIdKey, sessionIdKey } from "../../src/oicp/wire/identifiers.js";
import { createPostgresDatabase, createSqliteDatabase } from "../../src/store/sql/database.js";
import { InCodeMigrationProvider, migrateToLatest, sessionStoreMigrations } from "../../src/store/sql/migrations.js";
import type { SqlFlavor } from "../../src/store/sql/tables.js";
import { createTestSchema, postgresAvailable, type TestSchema } from "./pg-support.js";

type OldDb = Kysely<any>;

const SPELLINGS = [
  { hubject: "B2688855-7f00-0002-6D8E-48d883f6abb6", evse: "de*abc*E1234*1", evco: "de-8eo-caet5e4xy-3" },
  { hubject: " 5c1a7e8e-3b8f-4f5a-9d2e-7a1b2c3d4e5f ", evse: "DEABCE12342", evco: "DE*8EO*AET5E4*3" },
  { hubject: null, evse: "+49*810*000*438", evco: "DE8EOCAET5E4XY3" },
];

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const done of cleanup.reverse()) await done();
  cleanup = [];
});

async function open(flavor: SqlFlavor): Promise<OldDb> {
  if (flavor === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "migration-0003-"));
    const db = createSqliteDatabase(join(dir, "gw.sqlite")) as OldDb;
    cleanup.push(
      () => rmSync(dir, { recursive: true, force: true }),
      () => db.destroy(),
    );
    return db;
  }
  await postgresAvailable();
  const schema: TestSchema = await createTestSchema();
  const db = createPostgresDatabase(schema.url) as OldDb;
  cleanup.push(
    () => schema.drop(),
    () => db.destroy(),
  );
  return db;
}

for (const flavor of ["sqlite", "postgres"] as const) {
  describe(`${flavor}: rows stored before migration 0003`, () => {
    it("get the same keys the key functions give, and the unique index holds across spellings", async () => {
      const db = await open(flavor);
      const migrator = new Migrator({ db, provider: new InCodeMigrationProvider(sessionStoreMigrations(flavor)) });
      const { error } = await migrator.migrateTo("0002_origin_in_flight_contracts");
      expect(error).toBeUndefined();

      for (const [i, spelling] of SPELLINGS.entries()) {
        await db
          .insertInto("charging_sessions")
          .values({
            id: `s-${i}`,
            driver_id: "alice",
            origin: "APP",
            hubject_session_id: spelling.hubject,
            evse_id: spelling.evse,
            evco_id: spelling.evco,
            status: "ACCEPTED",
            requested_at: "2024-06-12T16:00:00.000Z",
            updated_at: "2024-06-12T16:00:00.000Z",
            version: 1,
          })
          .execute();
      }
      await db
        .insertInto("inbound_messages")
        .values([
          {
            kind: "CDR",
            type: "CDR",
            hubject_session_id: SPELLINGS[0]!.hubject,
            evse_id: "DE*ABC*E1234*1",
            dedupe_key: "CDR:x",
            body: '{"a":1}',
            received_at: "2024-06-12T17:00:00.000Z",
            session_id: "s-0",
          },
          {
            kind: "NOTIFICATION",
            type: "Start",
            hubject_session_id: "ffff0000-0000-0000-0000-000000000000",
            evse_id: "DE*ABC*E9*1",
            dedupe_key: "N:y",
            body: '{"b":2}',
            received_at: "2024-06-12T17:00:01.000Z",
            session_id: null,
          },
        ])
        .execute();
      await db
        .insertInto("driver_contracts")
        .values([
          { evco_id: "DE-8EO-CAET5E4XY-3", driver_id: "alice", seen_at: "2024-06-01T00:00:00.000Z" },
          { evco_id: "DE8EOCAET5E4XY3", driver_id: "bob", seen_at: "2024-06-02T00:00:00.000Z" },
        ])
        .execute();

      await migrateToLatest(db, flavor);

      const sessions = await db
        .selectFrom("charging_sessions")
        .select(["id", "hubject_session_key", "evse_key", "evco_key"])
        .orderBy("id")
        .execute();
      expect(sessions).toEqual(
        SPELLINGS.map((spelling, i) => ({
          id: `s-${i}`,
          hubject_session_key: spelling.hubject === null ? null : sessionIdKey(spelling.hubject),
          evse_key: evseIdKey(spelling.evse),
          evco_key: evcoIdKey(spelling.evco),
        })),
      );
      const inbound = await db
        .selectFrom("inbound_messages")
        .select(["body", "state", "hubject_session_key", "evse_key", "source"])
        .orderBy("seq")
        .execute();
      expect(inbound).toEqual([
        {
          body: '{"a":1}',
          state: "applied",
          hubject_session_key: sessionIdKey(SPELLINGS[0]!.hubject!),
          evse_key: "DEABCE12341",
          source: "push",
        },
        {
          body: '{"b":2}',
          state: "waiting",
          hubject_session_key: "ffff0000-0000-0000-0000-000000000000",
          evse_key: "DEABCE91",
          source: "push",
        },
      ]);
      // Two spellings of one contract became one key: the latest seen holder stays.
      expect(await db.selectFrom("driver_contracts").selectAll().execute()).toEqual([
        { evco_id: evcoIdKey("DE-8EO-CAET5E4XY-3"), driver_id: "bob", seen_at: "2024-06-02T00:00:00.000Z" },
      ]);
      // The new unique index sees an upper-cased SessionID as the same.
      await expect(
        sql`insert into charging_sessions (id, driver_id, origin, hubject_session_id, hubject_session_key, evse_id, evse_key, evco_id, evco_key, status, requested_at, updated_at, version)
            values ('dup', 'bob', 'CHARGER', 'x', ${sessionIdKey(SPELLINGS[0]!.hubject!)}, 'DE*ABC*E1*1', 'DEABCE11', 'c', 'C', 'ACCEPTED', 'now', 'now', 1)`.execute(
          db,
        ),
      ).rejects.toThrow();
    });
  });
}
