// SqlSessionStore against real databases, the way the gateway runs them: every test of the
// store runs twice, on a SQLite file of its own and on a PostgreSQL schema of its own
// (pg-support.ts). PostgreSQL-only: several pools racing (as several processes would),
// migrations racing, connections dropped by the server.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChargeDetailRecord, ChargingSession, SessionStatus } from "../../src/sessions/session.js";
import type { InboundMessage, NewSession, StoredInboundMessage } from "../../src/sessions/session.store.js";
import {
  type OpenSqlStoreOptions,
  openSqlStore,
  parseSqlUrl,
  postgresClientConfig,
  postgresConnection,
} from "../../src/store/sql/database.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import {
  adminQuery,
  createTestSchema,
  dropSchema,
  postgresAvailable,
  randomSchemaName,
  TEST_DATABASE_URL,
  type TestSchema,
  withSchema,
} from "./pg-support.js";

const PG = await postgresAvailable();
type Engine = "sqlite" | "postgres";
const ENGINES: readonly Engine[] = ["sqlite", "postgres"];

/** The database of one test: a fresh SQLite file, or a fresh PostgreSQL schema. */
interface TestDatabase {
  engine: Engine;
  /** The store URL for openSqlStore (a file: URL, or postgres://...?schema=gw_x). */
  url: string;
  /** SQLite only: the file. */
  file: string;
  /** PostgreSQL only: the schema. */
  schema: string;
  /** A store on this database; every call is another connection (another pool), like another process. */
  open(options?: Omit<OpenSqlStoreOptions, "url">): SqlSessionStore;
  cleanup(): Promise<void>;
}

async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "session-store-"));
    const file = join(dir, "nested", "gateway.db");
    return {
      engine,
      url: pathToFileURL(file).href,
      file,
      schema: "",
      open: (options = {}) => openSqlStore({ ...options, url: file }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = await createTestSchema();
  return {
    engine,
    url: schema.url,
    file: "",
    schema: schema.schema,
    open: (options = {}) => openSqlStore({ poolSize: 3, ...options, url: schema.url }),
    cleanup: () => schema.drop(),
  };
}

let opened: SqlSessionStore[] = [];

async function closeOpened(): Promise<void> {
  const stores = opened;
  opened = [];
  for (const store of stores) await store.close().catch(() => undefined);
}

let idCounter = 0;
const nextId = (): string => `00000000-0000-4000-8000-${String(++idCounter).padStart(12, "0")}`;

const T0 = new Date("2024-05-01T10:00:00.000Z");
const at = (minutes: number, ms = 0): Date => new Date(T0.getTime() + minutes * 60_000 + ms);

function newSession(overrides: Partial<NewSession> = {}): NewSession {
  return {
    id: nextId(),
    driverId: "driver-1",
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-8EO-CAET5E4XY-3",
    partnerProductId: null,
    // ACCEPTED by default: at most one REQUESTED session per driver and EVSE may exist (migration 0002).
    status: "ACCEPTED",
    requestedAt: T0,
    ...overrides,
  };
}

function fullCdr(): ChargeDetailRecord {
  return {
    hubjectSessionId: "b2688855-7f00-0002-6d8e-48d883f6abb6",
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-8EO-CAET5E4XY-3",
    partnerProductId: "AC_FAST",
    sessionStart: new Date("2024-05-01T10:01:00.123Z"),
    sessionEnd: new Date("2024-05-01T11:30:00.456Z"),
    chargingStart: new Date("2024-05-01T10:02:00.000Z"),
    chargingEnd: new Date("2024-05-01T11:20:00.999Z"),
    consumedEnergyKwh: "23.457",
    meterValueStart: "1000.000",
    meterValueEnd: "1023.457",
    offsets: { sessionStart: "+02:00", chargingStart: "+02:00", chargingEnd: "+02:00", sessionEnd: null },
    anomalies: [{ field: "SessionEnd", kind: "NO_OFFSET", detail: "sent without a UTC offset; read as UTC" }],
    receivedAt: new Date("2024-05-01T11:30:01.000Z"),
    raw: {
      SessionID: "b2688855-7f00-0002-6d8e-48d883f6abb6",
      EvseID: "DE*ABC*E1234*1",
      SessionStart: "2024-05-01T12:01:00.123+02:00",
      ConsumedEnergy: 23.457,
      MeterValueInBetween: { meterValues: [1005.1, 1012.25] },
      CPOPartnerSessionID: null,
      Identification: { RemoteIdentification: { EvcoID: "DE-8EO-CAET5E4XY-3" } },
    },
  };
}

/** A session with every optional field filled in, one version after `base`. */
function fullyPopulated(base: ChargingSession): ChargingSession {
  return {
    ...base,
    hubjectSessionId: "b2688855-7f00-0002-6d8e-48d883f6abb6",
    cpoPartnerSessionId: "cpo-42",
    partnerProductId: "AC_FAST",
    status: "COMPLETED",
    lastStatusCode: { code: "000", description: "Success", additionalInfo: 'ok ✓ "quoted"' },
    chargingStartedAt: new Date("2024-05-01T10:02:00.000Z"),
    chargingEndedAt: new Date("2024-05-01T11:20:00.999Z"),
    sessionStartedAt: new Date("2024-05-01T10:01:00.123Z"),
    sessionEndedAt: new Date("2024-05-01T11:30:00.456Z"),
    stopRequestedAt: new Date("2024-05-01T11:19:00.001Z"),
    updatedAt: new Date("2024-05-01T11:30:01.000Z"),
    consumedEnergyKwh: "23.457",
    lastProgressAt: new Date("2024-05-01T11:15:00.000Z"),
    lastEventAt: new Date("2024-05-01T11:30:01.000Z"),
    figuresSource: "CHARGE_DETAIL_RECORD",
    errorType: "ConnectorError",
    errorInfo: "plug check",
    chargeDetailRecord: fullCdr(),
    offsets: { chargingStart: "+02:00", sessionEnd: null },
    anomalies: [{ field: "ConsumedEnergy", kind: "REPAIRED", detail: "read from a decimal comma" }],
    version: base.version + 1,
  };
}

function inbound(overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    kind: "NOTIFICATION",
    source: "push",
    text: JSON.stringify({ Type: "Start", SessionID: "hub-1", ChargingStart: "2024-05-01T12:00:00+02:00", MeterValueStart: null }),
    operatorId: null,
    receivedAt: at(1),
    type: "Start",
    hubjectSessionId: "hub-1",
    empPartnerSessionId: null,
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-8EO-CAET5E4XY-3",
    dedupeKey: `hub-1|Start|${T0.toISOString()}`,
    contentHash: "c0ffee",
    state: "waiting",
    problem: null,
    anomalies: [],
    duplicateOf: null,
    ...overrides,
  };
}

/** The seq of a message the store took (not a copy refused for its dedupe key). */
function seqOf(recorded: { seq: number } | { holder: StoredInboundMessage }): number {
  if (!("seq" in recorded)) throw new Error(`dedupe key taken by message ${recorded.holder.seq}`);
  return recorded.seq;
}

for (const engine of ENGINES) {
  describe.skipIf(engine === "postgres" && !PG)(`${engine} store`, () => {
    let db: TestDatabase;

    beforeEach(async () => {
      db = await createTestDatabase(engine);
    });

    afterEach(async () => {
      await closeOpened();
      await db.cleanup();
    });

    /** A test of one engine only (registered only there, so nothing shows up as skipped). */
    const itOn = (only: Engine, name: string, fn: () => Promise<void>): void => {
      if (engine === only) it(name, fn);
    };

    /** Opens a store on the test's database; a second call is a second connection, like a second process. */
    async function openStore(options?: Omit<OpenSqlStoreOptions, "url">): Promise<SqlSessionStore> {
      const store = db.open(options);
      opened.push(store);
      await store.migrate();
      return store;
    }

    it("opens with the right flavor", async () => {
      const store = await openStore();
      expect(store.flavor).toBe(engine);
    });

    describe("migrations", () => {
      it("can run twice, also from a second connection", async () => {
        const store = await openStore();
        await store.migrate();
        await store.migrate();
        const second = await openStore();
        await second.migrate();
        expect(await store.get("nope")).toBeUndefined();
      });

      itOn("sqlite", "creates the file's parent folder", async () => {
        await openStore();
        expect(() => new BetterSqlite3(db.file, { readonly: true, fileMustExist: true }).close()).not.toThrow();
      });

      itOn("sqlite", "lets findAwaitingAnswer use the (evse_key, evco_key) index", async () => {
        await openStore();
        const raw = new BetterSqlite3(db.file, { readonly: true });
        try {
          const plan = raw
            .prepare(
              `explain query plan select * from "charging_sessions" where "evse_key" = ? and "evco_key" = ?
               and "hubject_session_id" is null and "requested_at" >= ? order by "requested_at" desc, "id" desc limit 1`,
            )
            .all("a", "b", "c") as { detail: string }[];
          expect(plan.map((p) => p.detail).join("\n")).toContain("charging_sessions_evse_evco_idx");
        } finally {
          raw.close();
        }
      });

      itOn("postgres", "lets findAwaitingAnswer use the (evse_key, evco_key) index", async () => {
        await openStore();
        // Few rows make a sequential scan cheapest; forbid it to see whether the index is usable at all.
        const plan = await explainInSchema(db.url);
        expect(plan.map((p) => p["QUERY PLAN"]).join("\n")).toContain("charging_sessions_evse_evco_idx");
      });

      itOn("postgres", "keeps Kysely's bookkeeping in the test's own schema", async () => {
        await openStore();
        const tables = await adminQuery<{ table_name: string }>(
          "select table_name from information_schema.tables where table_schema = $1 order by table_name",
          [db.schema],
        );
        expect(tables.map((t) => t.table_name)).toEqual([
          "catalogue_evses",
          "catalogue_sync",
          "charging_sessions",
          "driver_contracts",
          "idempotency_keys",
          "identifications",
          "inbound_messages",
          "kysely_migration",
          "kysely_migration_lock",
          "pricing_evse_products",
          "pricing_operator_defaults",
          "pricing_products",
          "pricing_sync",
        ]);
        const migrations = await adminQuery<{ name: string }>(`select name from "${db.schema}".kysely_migration order by name`);
        expect(migrations.map((m) => m.name)).toEqual([
          "0001_sessions_inbound_idempotency",
          "0002_origin_in_flight_contracts",
          "0003_keys_raw_inbound_anomalies",
          "0004_idempotency_results",
          "0005_identifications",
          "0006_evse_catalogue",
          "0007_pricing",
        ]);
      });
    });

    describe("insert, get, replace", () => {
      it("inserts version 1 with updatedAt = requestedAt and every optional field null", async () => {
        const store = await openStore();
        const input = newSession({ partnerProductId: "AC_FAST", requestedAt: new Date("2024-05-01T10:00:00.007Z") });
        const created = await store.insert(input);
        const expected: ChargingSession = {
          id: input.id,
          driverId: "driver-1",
          origin: "APP",
          hubjectSessionId: null,
          cpoPartnerSessionId: null,
          evseId: input.evseId,
          evcoId: input.evcoId,
          partnerProductId: "AC_FAST",
          status: "ACCEPTED",
          lastStatusCode: null,
          requestedAt: input.requestedAt,
          chargingStartedAt: null,
          chargingEndedAt: null,
          sessionStartedAt: null,
          sessionEndedAt: null,
          stopRequestedAt: null,
          updatedAt: input.requestedAt,
          consumedEnergyKwh: null,
          lastProgressAt: null,
          lastEventAt: null,
          figuresSource: null,
          errorType: null,
          errorInfo: null,
          chargeDetailRecord: null,
          offsets: {},
          anomalies: [],
          identificationId: null,
          stopIdentificationId: null,
          version: 1,
        };
        expect(created).toEqual(expected);
        const loaded = await store.get(input.id);
        expect(loaded).toEqual(expected);
        expect(loaded?.requestedAt).toBeInstanceOf(Date);
        expect(loaded?.requestedAt.getTime()).toBe(input.requestedAt.getTime());
      });

      it("round-trips every field, including Dates, StatusCode and a full CDR with its raw JSON", async () => {
        const store = await openStore();
        const created = await store.insert(newSession());
        const full = fullyPopulated(created);
        expect(await store.replace(full)).toBe(true);

        const loaded = await store.get(created.id);
        expect(loaded).toEqual(full);
        const cdr = loaded?.chargeDetailRecord;
        expect(cdr?.sessionStart).toBeInstanceOf(Date);
        expect(cdr?.chargingEnd?.toISOString()).toBe("2024-05-01T11:20:00.999Z");
        // The CPO's offsets stay as sent (docs/oicp.md#identifiers).
        expect(cdr?.raw.SessionStart).toBe("2024-05-01T12:01:00.123+02:00");
        expect(cdr?.raw.MeterValueInBetween).toEqual({ meterValues: [1005.1, 1012.25] });

        // And back to nulls.
        const cleared: ChargingSession = { ...created, version: 3 };
        expect(await store.replace(cleared)).toBe(true);
        expect(await store.get(created.id)).toEqual(cleared);
      });

      it("returns undefined for an unknown id; getMany returns the found ones only", async () => {
        const store = await openStore();
        const a = await store.insert(newSession());
        const b = await store.insert(newSession());
        expect(await store.get("missing")).toBeUndefined();
        expect(await store.getMany([])).toEqual([]);
        const many = await store.getMany([b.id, "missing", a.id, b.id]);
        expect(many.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
      });

      it("replace writes only on the expected version; a stale write changes nothing", async () => {
        const store = await openStore();
        const created = await store.insert(newSession());

        const accepted: ChargingSession = { ...created, status: "ACCEPTED", hubjectSessionId: "hub-1", version: 2, updatedAt: at(1) };
        expect(await store.replace(accepted)).toBe(true);

        const stale: ChargingSession = { ...created, status: "REJECTED", version: 2, updatedAt: at(2) };
        expect(await store.replace(stale)).toBe(false);
        const skipping: ChargingSession = { ...accepted, status: "CHARGING", version: 4 };
        expect(await store.replace(skipping)).toBe(false);
        expect(await store.get(created.id)).toEqual(accepted);

        expect(await store.replace({ ...accepted, id: "missing", version: 3 })).toBe(false);
      });

      it("two concurrent replaces from the same base version: exactly one wins", async () => {
        const first = await openStore();
        const second = await openStore(); // another connection, as another process would have
        const base = await first.insert(newSession());

        const mine: ChargingSession = { ...base, status: "ACCEPTED", hubjectSessionId: "hub-mine", version: 2 };
        const theirs: ChargingSession = { ...base, status: "REJECTED", version: 2 };
        const results = await Promise.all([first.replace(mine), second.replace(theirs)]);

        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results[0] ? mine : theirs;
        expect(await first.get(base.id)).toEqual(winner);
        expect(await second.get(base.id)).toEqual(winner);
      });

      it("finds a session by its Hubject SessionID, which is unique", async () => {
        const store = await openStore();
        const a = await store.insert(newSession());
        const b = await store.insert(newSession());
        expect(await store.findByHubjectSessionId("hub-a")).toBeUndefined();
        await store.replace({ ...a, hubjectSessionId: "hub-a", status: "ACCEPTED", version: 2 });
        expect((await store.findByHubjectSessionId("hub-a"))?.id).toBe(a.id);
        await expect(store.replace({ ...b, hubjectSessionId: "hub-a", version: 2 })).rejects.toThrow(/unique/i);
      });
    });

    describe("findAwaitingAnswer", () => {
      it("matches EVSE and contract case-insensitively, newest first, within the window", async () => {
        const store = await openStore();
        const older = await store.insert(newSession({ requestedAt: at(0) }));
        const newer = await store.insert(newSession({ requestedAt: at(5), status: "OUTCOME_UNKNOWN" }));

        const found = await store.findAwaitingAnswer("de*abc*e1234*1", "de-8eo-caet5e4xy-3", at(0));
        expect(found?.id).toBe(newer.id);

        // `since` is inclusive; sessions requested before it are out of the window.
        expect((await store.findAwaitingAnswer("DE*ABC*E1234*1", "DE-8EO-CAET5E4XY-3", at(5)))?.id).toBe(newer.id);
        expect(await store.findAwaitingAnswer("DE*ABC*E1234*1", "DE-8EO-CAET5E4XY-3", at(5, 1))).toBeUndefined();

        // Other EVSE or other contract: nothing.
        expect(await store.findAwaitingAnswer("DE*ABC*E9999*1", "DE-8EO-CAET5E4XY-3", at(0))).toBeUndefined();
        expect(await store.findAwaitingAnswer("DE*ABC*E1234*1", "DE-8EO-CXXXXXXXX-1", at(0))).toBeUndefined();

        // Once the newer one knows its Hubject SessionID, the older one is next.
        await store.replace({ ...newer, hubjectSessionId: "hub-n", status: "ACCEPTED", version: 2 });
        expect((await store.findAwaitingAnswer("DE*ABC*E1234*1", "DE-8EO-CAET5E4XY-3", at(0)))?.id).toBe(older.id);
      });

      it("considers only REQUESTED, OUTCOME_UNKNOWN and ACCEPTED sessions", async () => {
        const store = await openStore();
        const statuses: SessionStatus[] = ["REJECTED", "CHARGING", "STOP_REQUESTED", "CHARGING_ENDED", "COMPLETED", "FAILED"];
        for (const [i, status] of statuses.entries()) await store.insert(newSession({ status, requestedAt: at(i) }));
        expect(await store.findAwaitingAnswer("DE*ABC*E1234*1", "DE-8EO-CAET5E4XY-3", at(-1))).toBeUndefined();

        const accepted = await store.insert(newSession({ status: "ACCEPTED", requestedAt: at(-0.5) }));
        expect((await store.findAwaitingAnswer("DE*ABC*E1234*1", "DE-8EO-CAET5E4XY-3", at(-1)))?.id).toBe(accepted.id);
      });
    });

    describe("listForDriver", () => {
      /** 45 sessions of driver-1, in threes sharing a requestedAt, plus some of another driver. */
      async function seed(store: SqlSessionStore): Promise<ChargingSession[]> {
        const created: ChargingSession[] = [];
        for (let i = 0; i < 45; i++) {
          const status: SessionStatus = i % 4 === 0 ? "COMPLETED" : i % 4 === 1 ? "FAILED" : "CHARGING";
          created.push(await store.insert(newSession({ requestedAt: at(Math.floor(i / 3)), status })));
        }
        for (let i = 0; i < 5; i++) await store.insert(newSession({ driverId: "driver-2", requestedAt: at(100 + i) }));
        return created;
      }

      const newestFirst = (a: ChargingSession, b: ChargingSession): number =>
        b.requestedAt.getTime() - a.requestedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

      it("pages newest first through 45 sessions in pages of 20, ties broken by id, no gaps or duplicates", async () => {
        const store = await openStore();
        const expected = (await seed(store)).sort(newestFirst).map((s) => s.id);

        const pages: { ids: string[]; hasNextPage: boolean }[] = [];
        let after: { requestedAt: Date; id: string } | undefined;
        for (;;) {
          const page = await store.listForDriver({ driverId: "driver-1", first: 20, after });
          pages.push({ ids: page.sessions.map((s) => s.id), hasNextPage: page.hasNextPage });
          const last = page.sessions.at(-1);
          if (!page.hasNextPage || !last) break;
          after = { requestedAt: last.requestedAt, id: last.id };
        }

        expect(pages.map((p) => p.ids.length)).toEqual([20, 20, 5]);
        expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
        const all = pages.flatMap((p) => p.ids);
        expect(all).toEqual(expected);
        expect(new Set(all).size).toBe(45);
      });

      it("hasNextPage is false when the page is exactly full", async () => {
        const store = await openStore();
        for (let i = 0; i < 3; i++) await store.insert(newSession({ requestedAt: at(i) }));
        const page = await store.listForDriver({ driverId: "driver-1", first: 3 });
        expect(page.sessions).toHaveLength(3);
        expect(page.hasNextPage).toBe(false);
      });

      it("filters active (non-terminal) and finished sessions", async () => {
        const store = await openStore();
        const created = await seed(store);
        const terminal = new Set(["REJECTED", "COMPLETED", "FAILED"]);

        const active = await store.listForDriver({ driverId: "driver-1", first: 100, active: true });
        const finished = await store.listForDriver({ driverId: "driver-1", first: 100, active: false });
        expect(active.sessions.map((s) => s.id)).toEqual(
          created
            .filter((s) => !terminal.has(s.status))
            .sort(newestFirst)
            .map((s) => s.id),
        );
        expect(finished.sessions.map((s) => s.id)).toEqual(
          created
            .filter((s) => terminal.has(s.status))
            .sort(newestFirst)
            .map((s) => s.id),
        );
        expect(active.sessions.length + finished.sessions.length).toBe(45);
      });

      it("never returns another driver's sessions", async () => {
        const store = await openStore();
        await seed(store);
        const mine = await store.listForDriver({ driverId: "driver-1", first: 100 });
        expect(mine.sessions).toHaveLength(45);
        expect(mine.sessions.every((s) => s.driverId === "driver-1")).toBe(true);
        const theirs = await store.listForDriver({ driverId: "driver-2", first: 100 });
        expect(theirs.sessions).toHaveLength(5);
        expect((await store.listForDriver({ driverId: "nobody", first: 10 })).sessions).toEqual([]);
      });

      it("rejects a page size outside 1..100", async () => {
        const store = await openStore();
        await expect(store.listForDriver({ driverId: "driver-1", first: 0 })).rejects.toThrow(RangeError);
        await expect(store.listForDriver({ driverId: "driver-1", first: 101 })).rejects.toThrow(RangeError);
      });

      it("pages the same with the session cache off and with a cache smaller than a page", async () => {
        const writer = await openStore();
        const expected = (await seed(writer)).sort(newestFirst);
        for (const sessionCacheSize of [0, 5]) {
          const store = await openStore({ sessionCacheSize });
          for (let round = 0; round < 2; round++) {
            const ids: string[] = [];
            let after: { requestedAt: Date; id: string } | undefined;
            for (;;) {
              const page = await store.listForDriver({ driverId: "driver-1", first: 20, after });
              ids.push(...page.sessions.map((s) => s.id));
              const last = page.sessions.at(-1);
              if (!page.hasNextPage || !last) break;
              after = { requestedAt: last.requestedAt, id: last.id };
            }
            expect(ids, `cache ${sessionCacheSize}, round ${round}`).toEqual(expected.map((s) => s.id));
          }
          const page = await store.listForDriver({ driverId: "driver-1", first: 3 });
          expect(page.sessions).toEqual(expected.slice(0, 3));
        }
        await expect(openStore({ sessionCacheSize: -1 })).rejects.toThrow(RangeError);
      });

      itOn("sqlite", "answers a repeated page read from memory until anyone commits, this process or another", async () => {
        const store = await openStore();
        for (let i = 0; i < 3; i++) await store.insert(newSession({ requestedAt: at(i) }));
        const first = await store.listForDriver({ driverId: "driver-1", first: 10 });
        expect(await store.listForDriver({ driverId: "driver-1", first: 10 })).toBe(first);
        expect(Object.isFrozen(first) && Object.isFrozen(first.sessions)).toBe(true);

        // This store writes: the next read is a new page with the new session.
        const added = await store.insert(newSession({ requestedAt: at(5) }));
        const second = await store.listForDriver({ driverId: "driver-1", first: 10 });
        expect(second).not.toBe(first);
        expect(second.sessions.map((s) => s.id)[0]).toBe(added.id);

        // Another connection to the file (as another process) changes a row behind the store's back.
        const raw = new BetterSqlite3(db.file);
        try {
          raw.prepare("update charging_sessions set status = 'COMPLETED', version = version + 1 where id = ?").run(added.id);
        } finally {
          raw.close();
        }
        const third = await store.listForDriver({ driverId: "driver-1", first: 10 });
        expect(third.sessions[0]).toMatchObject({ id: added.id, status: "COMPLETED", version: 2 });
        expect((await store.listForDriver({ driverId: "driver-1", first: 10, active: true })).sessions.map((s) => s.id)).not.toContain(
          added.id,
        );
        // A write that changes nothing (a lost race) still moves the stamp on: no harm, one more read.
        expect(await store.replace({ ...added, version: 2 })).toBe(false);
        expect(await store.listForDriver({ driverId: "driver-1", first: 10 })).not.toBe(third);
      });

      it("never serves a session stale from its cache: a change made by another process shows on the next read", async () => {
        const mine = await openStore();
        const other = await openStore(); // another connection, like another replica
        const created: ChargingSession[] = [];
        for (let i = 0; i < 5; i++) created.push(await mine.insert(newSession({ requestedAt: at(i) })));

        const first = await mine.listForDriver({ driverId: "driver-1", first: 10 });
        expect(first.sessions.map((s) => s.version)).toEqual([1, 1, 1, 1, 1]);
        // Read twice without a change: the same decoded objects, frozen so that no caller can alter them.
        const again = await mine.listForDriver({ driverId: "driver-1", first: 10 });
        again.sessions.forEach((s, i) => {
          expect(s).toBe(first.sessions[i]);
        });
        expect(again.sessions.every((s) => Object.isFrozen(s))).toBe(true);

        // The other process moves the newest session on; this process writes the oldest itself.
        const newest = created[4]!;
        const charging: ChargingSession = { ...newest, status: "CHARGING", consumedEnergyKwh: "1.5", version: 2, updatedAt: at(10) };
        expect(await other.replace(charging)).toBe(true);
        const oldest = created[0]!;
        const ended: ChargingSession = { ...oldest, status: "CHARGING_ENDED", version: 2, updatedAt: at(11) };
        expect(await mine.replace(ended)).toBe(true);

        const after = await mine.listForDriver({ driverId: "driver-1", first: 10 });
        expect(after.sessions[0]).toEqual(charging);
        expect(after.sessions[4]).toEqual(ended);
        for (const i of [1, 2, 3]) expect(after.sessions[i]).toBe(first.sessions[i]);
        // And a third change by the other process, read through the filter on status.
        const completed: ChargingSession = { ...charging, status: "COMPLETED", version: 3, updatedAt: at(12) };
        expect(await other.replace(completed)).toBe(true);
        expect((await mine.listForDriver({ driverId: "driver-1", first: 10, active: false })).sessions).toEqual([completed]);
        expect((await mine.listForDriver({ driverId: "driver-1", first: 10 })).sessions[0]).toEqual(completed);
      });
    });

    describe("inbound messages", () => {
      it("stores a message as received; a repeated dedupe key stores nothing and names the holder", async () => {
        const store = await openStore();
        const first = seqOf(await store.recordInbound(inbound()));
        expect(typeof first).toBe("number");

        const again = await store.recordInbound(inbound({ text: '{"different":true}', receivedAt: at(9) }));
        expect(again).toEqual({ holder: { ...inbound(), seq: first, sessionId: null } });

        const stored = await store.waitingInbound("hub-1");
        expect(stored).toEqual([{ ...inbound(), seq: first, sessionId: null }]);
        // The copy is stored without the key, pointing at what it repeats.
        const copy = seqOf(await store.recordInbound(inbound({ dedupeKey: null, state: "duplicate", duplicateOf: first })));
        expect(await store.inbound(copy)).toMatchObject({ state: "duplicate", duplicateOf: first, dedupeKey: null });
      });

      it("keeps the body exactly as received, and stores unreadable messages too", async () => {
        const store = await openStore();
        const text = '{"SessionID":"hub-1","ConsumedEnergy":12345678901234567890.123,"Note":"ünïcødé"}';
        const seq = seqOf(
          await store.recordInbound(
            inbound({
              text,
              type: null,
              hubjectSessionId: null,
              evseId: null,
              evcoId: null,
              dedupeKey: null,
              contentHash: null,
              state: "rejected",
              problem: "Field 'EvseID': missing",
            }),
          ),
        );
        expect(await store.inbound(seq)).toMatchObject({
          text,
          state: "rejected",
          problem: "Field 'EvseID': missing",
          hubjectSessionId: null,
        });
        expect((await store.inboundInState("rejected", 10)).map((m) => m.seq)).toEqual([seq]);
      });

      it("lists the messages waiting for one Hubject SessionID oldest first, in any letter case, and marks them applied", async () => {
        const store = await openStore();
        const session = await store.insert(newSession());
        const start = seqOf(await store.recordInbound(inbound({ hubjectSessionId: "HUB-1" })));
        const progress = seqOf(
          await store.recordInbound(
            inbound({ type: "Progress", dedupeKey: "hub-1|Progress|t1", text: '{"Type":"Progress","ConsumedEnergyProgress":"1.5"}' }),
          ),
        );
        const cdr = seqOf(
          await store.recordInbound(
            inbound({ kind: "CDR", type: "CDR", dedupeKey: "hub-1", empPartnerSessionId: session.id, evcoId: null }),
          ),
        );
        await store.recordInbound(inbound({ hubjectSessionId: "hub-2", dedupeKey: "hub-2|Start|t0" }));

        const waiting = await store.waitingInbound("hub-1");
        expect(waiting.map((m) => m.seq)).toEqual([start, progress, cdr]);
        expect(waiting[2]).toMatchObject({ kind: "CDR", empPartnerSessionId: session.id, evcoId: null, sessionId: null });
        expect(waiting[1]?.text).toBe('{"Type":"Progress","ConsumedEnergyProgress":"1.5"}');

        const anomalies = [{ field: "ChargingStart", kind: "NO_OFFSET" as const, detail: "read as UTC" }];
        await store.updateInbound(start, { state: "applied", sessionId: session.id, anomalies });
        await store.updateInbound(progress, { state: "applied", sessionId: session.id });
        expect((await store.waitingInbound("hub-1")).map((m) => m.seq)).toEqual([cdr]);
        expect(await store.inbound(start)).toMatchObject({ state: "applied", sessionId: session.id, anomalies });
        await store.updateInbound(cdr, { state: "mismatch", sessionId: session.id, problem: "names another EVSE", releaseDedupeKey: true });
        expect(await store.waitingInbound("hub-1")).toEqual([]);
        expect(await store.inbound(cdr)).toMatchObject({ state: "mismatch", dedupeKey: null, problem: "names another EVSE" });
        // A released key can be taken by the genuine message.
        expect("seq" in (await store.recordInbound(inbound({ kind: "CDR", type: "CDR", dedupeKey: "hub-1" })))).toBe(true);
        expect(await store.waitingInbound("hub-2")).toHaveLength(1);
      });

      it("prunes what is older than the retention, and nothing else", async () => {
        const store = await openStore();
        seqOf(await store.recordInbound(inbound({ dedupeKey: "old", receivedAt: at(0) })));
        const kept = seqOf(await store.recordInbound(inbound({ dedupeKey: "new", receivedAt: at(10) })));
        expect(await store.pruneInbound(at(5))).toBe(1);
        expect((await store.waitingInbound("hub-1")).map((m) => m.seq)).toEqual([kept]);
      });
    });

    describe("comparison keys (docs/oicp.md#identifiers)", () => {
      it("finds a session by its Hubject SessionID in any letter case, and its unique index says the same", async () => {
        const store = await openStore();
        const session = await store.insert(newSession({ hubjectSessionId: "b2688855-7f00-0002-6d8e-48d883f6abb6" }));
        expect((await store.findByHubjectSessionId("B2688855-7F00-0002-6D8E-48D883F6ABB6"))?.id).toBe(session.id);
        expect(
          await store.tryInsert(newSession({ origin: "CHARGER", hubjectSessionId: "B2688855-7F00-0002-6D8E-48D883F6ABB6" })),
        ).toBeNull();
      });

      it("matches an EvseID with or without its `*` and an EvcoID with or without its separators", async () => {
        const store = await openStore();
        const session = await store.insert(
          newSession({ status: "OUTCOME_UNKNOWN", evseId: "DE*ABC*E1234*1", evcoId: "DE-8EO-CAET5E4XY-3" }),
        );
        expect((await store.findAwaitingAnswer("deabce12341", "de8eocaet5e4xy3", at(-60)))?.id).toBe(session.id);
        const requested = await store.tryInsert(newSession({ status: "REQUESTED", evseId: "DE*ABC*E1234*1" }));
        expect(requested).not.toBeNull();
        expect(await store.tryInsert(newSession({ status: "REQUESTED", evseId: "DEABCE12341" }))).toBeNull();
        expect((await store.findRequested("driver-1", "de*abc*e1234*1"))?.id).toBe(requested!.id);
      });
    });

    describe("claimIdempotencyKey", () => {
      it("concurrent claims of one key: exactly one claims it, everyone gets its session", async () => {
        const first = await openStore();
        const second = await openStore();
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? first : second).claimIdempotencyKey("driver-1", "key-1", "startCharging", `session-${i}`),
          ),
        );
        const winners = claims.filter((c) => c.claimed);
        expect(winners).toHaveLength(1);
        const winnerSession = winners[0]!.sessionId;
        expect(claims.every((c) => c.sessionId === winnerSession)).toBe(true);

        // Later retries see the same session.
        expect(await first.claimIdempotencyKey("driver-1", "key-1", "startCharging", "late")).toEqual({
          claimed: false,
          sessionId: winnerSession,
        });
      });

      it("keys are per driver", async () => {
        const store = await openStore();
        expect(await store.claimIdempotencyKey("driver-1", "k", "startCharging", "s1")).toEqual({ claimed: true, sessionId: "s1" });
        expect(await store.claimIdempotencyKey("driver-2", "k", "startCharging", "s2")).toEqual({ claimed: true, sessionId: "s2" });
      });
    });

    describe("issue 3 additions", () => {
      it("allows one REQUESTED session per driver and EVSE (any case), enforced by the database", async () => {
        const store = await openStore();
        const first = await store.tryInsert(newSession({ status: "REQUESTED" }));
        expect(first?.status).toBe("REQUESTED");
        expect(await store.tryInsert(newSession({ status: "REQUESTED", evseId: "de*abc*E1234*1" }))).toBeNull();
        expect(await store.tryInsert(newSession({ status: "REQUESTED", driverId: "driver-2" }))).not.toBeNull();
        expect(await store.tryInsert(newSession({ status: "REQUESTED", evseId: "DE*ABC*E1234*2" }))).not.toBeNull();
        expect((await store.findRequested("driver-1", "de*abc*e1234*1"))?.id).toBe(first!.id);
        // Once it left REQUESTED, a new one may start.
        await store.replace({ ...first!, status: "ACCEPTED", version: 2 });
        expect(await store.tryInsert(newSession({ status: "REQUESTED" }))).not.toBeNull();
      });

      it("refuses a second session for one Hubject SessionID and keeps the origin", async () => {
        const store = await openStore();
        const learnt = await store.tryInsert(newSession({ origin: "CHARGER", hubjectSessionId: "hub-1" }));
        expect(learnt).toMatchObject({ origin: "CHARGER", hubjectSessionId: "hub-1" });
        expect(await store.tryInsert(newSession({ hubjectSessionId: "hub-1" }))).toBeNull();
        expect((await store.get(learnt!.id))?.origin).toBe("CHARGER");
      });

      it("scans by status, request time and last upstream event, oldest first", async () => {
        const store = await openStore();
        const a = await store.insert(newSession({ status: "OUTCOME_UNKNOWN", requestedAt: at(0) }));
        const b = await store.insert(newSession({ status: "CHARGING", requestedAt: at(1), evseId: "DE*ABC*E1234*2" }));
        await store.replace({ ...b, lastEventAt: at(30), version: 2 });
        await store.insert(newSession({ status: "COMPLETED", requestedAt: at(2) }));
        const ids = (sessions: ChargingSession[]) => sessions.map((s) => s.id);
        expect(ids(await store.scan({ statuses: ["OUTCOME_UNKNOWN", "CHARGING"], limit: 10 }))).toEqual([a.id, b.id]);
        expect(ids(await store.scan({ statuses: ["OUTCOME_UNKNOWN", "CHARGING"], requestedBefore: at(1), limit: 10 }))).toEqual([a.id]);
        expect(ids(await store.scan({ statuses: ["CHARGING"], lastHeardBefore: at(20), limit: 10 }))).toEqual([]);
        expect(ids(await store.scan({ statuses: ["CHARGING"], lastHeardBefore: at(31), limit: 10 }))).toEqual([b.id]);
        expect(ids(await store.scan({ statuses: ["OUTCOME_UNKNOWN", "CHARGING"], limit: 1 }))).toEqual([a.id]);
      });

      it("lists messages still waiting for a session, received within a window", async () => {
        const store = await openStore();
        const one = seqOf(await store.recordInbound(inbound({ hubjectSessionId: "h-1", dedupeKey: "k1", receivedAt: at(0) })));
        await store.recordInbound(inbound({ hubjectSessionId: "h-2", dedupeKey: "k2", receivedAt: at(10) }));
        const s = await store.insert(newSession());
        const three = seqOf(await store.recordInbound(inbound({ hubjectSessionId: "h-3", dedupeKey: "k3", receivedAt: at(1) })));
        await store.updateInbound(three, { state: "applied", sessionId: s.id });
        expect((await store.waitingInboundBetween(at(-60), at(5), 10)).map((m) => m.seq)).toEqual([one]);
        expect(await store.waitingInboundBetween(at(0, 1), at(5), 10)).toEqual([]);
      });

      it("remembers who holds a contract, case-insensitively, and moves it when another driver claims it", async () => {
        const store = await openStore();
        await store.recordDriverContracts("alice", ["de-8eo-caet5e4xy-3", "DE-8EO-CAET5E4XY-3"]);
        expect(await store.driverForContract("DE-8EO-CAET5E4XY-3")).toBe("alice");
        expect(await store.driverForContract("DE8EOCAET5E4XY3")).toBe("alice");
        await store.recordDriverContracts("bob", ["DE-8EO-CAET5E4XY-3"]);
        expect(await store.driverForContract("de-8eo-caet5e4xy-3")).toBe("bob");
        expect(await store.driverForContract("DE-8EO-CXXXXXXXX-1")).toBeUndefined();
      });
    });

    describe("restart", () => {
      async function fillThenCheck(store: SqlSessionStore, reopen: () => Promise<SqlSessionStore>): Promise<void> {
        const created = await store.insert(newSession());
        const full = fullyPopulated(created);
        await store.replace(full);
        const message = seqOf(await store.recordInbound(inbound({ hubjectSessionId: "hub-r", dedupeKey: "hub-r|Start|t" })));
        await store.claimIdempotencyKey("driver-1", "key-r", "startCharging", created.id);

        const reopened = await reopen();
        expect(await reopened.get(created.id)).toEqual(full);
        expect(await reopened.findByHubjectSessionId(full.hubjectSessionId!)).toEqual(full);
        expect((await reopened.waitingInbound("hub-r")).map((m) => m.seq)).toEqual([message]);
        expect(await reopened.recordInbound(inbound({ hubjectSessionId: "hub-r", dedupeKey: "hub-r|Start|t" }))).toMatchObject({
          holder: { seq: message },
        });
        expect(await reopened.claimIdempotencyKey("driver-1", "key-r", "startCharging", "other")).toEqual({
          claimed: false,
          sessionId: created.id,
        });
        // The next sequence number continues after the old ones.
        const later = seqOf(await reopened.recordInbound(inbound({ dedupeKey: "after-restart" })));
        expect(later).toBeGreaterThan(message);
      }

      itOn("sqlite", "keeps sessions, messages and keys when the file is closed and reopened", async () => {
        const store = await openStore();
        await fillThenCheck(store, async () => {
          await store.close();
          const reopened = openSqlStore({ url: db.url });
          opened.push(reopened);
          await reopened.migrate();
          return reopened;
        });
      });

      itOn("postgres", "keeps sessions, messages and keys when the pool is closed and a new one connects", async () => {
        const store = await openStore();
        await fillThenCheck(store, async () => {
          await store.close();
          const reopened = openSqlStore({ url: db.url });
          opened.push(reopened);
          await reopened.migrate();
          return reopened;
        });
      });

      itOn("postgres", "survives the server ending its connections (restart, failover, pg_terminate_backend)", async () => {
        const applicationName = `test-${db.schema}`;
        const warn = vi.fn();
        const store = await openStore({ applicationName, logger: { warn } as never });
        const created = await store.insert(newSession());
        // Hold several connections open at once so the pool has more than one to lose.
        await Promise.all([store.get(created.id), store.get(created.id), store.get(created.id)]);
        const killed = await adminQuery<{ done: boolean }>(
          "select pg_terminate_backend(pid, 5000) as done from pg_stat_activity where application_name = $1",
          [applicationName],
        );
        expect(killed.length).toBeGreaterThan(0);
        expect(killed.every((k) => k.done)).toBe(true);
        // The pool reports the idle connections it lost (without crashing the process) and opens new ones.
        await vi.waitFor(() => expect(warn).toHaveBeenCalled(), { timeout: 5_000 });
        await vi.waitFor(async () => expect(await store.get(created.id)).toEqual(created), { timeout: 5_000 });
        expect(await store.replace({ ...created, status: "CHARGING", version: 2 })).toBe(true);
        await fillThenCheck(store, async () => store);
      });
    });
  });
}

/** EXPLAIN of findAwaitingAnswer's query with sequential scans off, in one transaction on the schema's URL. */
async function explainInSchema(url: string): Promise<{ "QUERY PLAN": string }[]> {
  const client = new pg.Client(postgresClientConfig(url));
  await client.connect();
  try {
    await client.query("begin");
    await client.query("set local enable_seqscan = off");
    const { rows } = await client.query<{ "QUERY PLAN": string }>(
      `explain select * from "charging_sessions" where "evse_key" = $1 and "evco_key" = $2
       and "hubject_session_id" is null and "requested_at" >= $3 order by "requested_at" desc, "id" desc limit 1`,
      ["a", "b", "c"],
    );
    await client.query("rollback");
    return rows;
  } finally {
    await client.end();
  }
}

describe("openSqlStore", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "session-store-url-"));
  });
  afterEach(async () => {
    await closeOpened();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads SQLite paths and URLs", () => {
    expect(parseSqlUrl(":memory:")).toEqual({ flavor: "sqlite", file: ":memory:" });
    expect(parseSqlUrl("sqlite::memory:")).toEqual({ flavor: "sqlite", file: ":memory:" });
    expect(parseSqlUrl("./data/gw.db")).toEqual({ flavor: "sqlite", file: "./data/gw.db" });
    expect(parseSqlUrl("/var/lib/gw.db")).toEqual({ flavor: "sqlite", file: "/var/lib/gw.db" });
    expect(parseSqlUrl("sqlite:data/gw.db")).toEqual({ flavor: "sqlite", file: "data/gw.db" });
    expect(parseSqlUrl("sqlite://data/gw.db")).toEqual({ flavor: "sqlite", file: "data/gw.db" });
    expect(parseSqlUrl("sqlite:///var/lib/gw.db")).toEqual({ flavor: "sqlite", file: "/var/lib/gw.db" });
    expect(parseSqlUrl("file:///var/lib/my%20gw.db")).toEqual({ flavor: "sqlite", file: "/var/lib/my gw.db" });
    expect(parseSqlUrl("file:./data/gw.db?mode=rwc")).toEqual({ flavor: "sqlite", file: "./data/gw.db" });
    expect(parseSqlUrl("postgres://u@localhost/db")).toEqual({ flavor: "postgres", url: "postgres://u@localhost/db" });
    expect(parseSqlUrl("postgresql://u@localhost/db?schema=gw_a")).toEqual({
      flavor: "postgres",
      url: "postgresql://u@localhost/db?schema=gw_a",
    });
    expect(() => parseSqlUrl("mysql://localhost/db")).toThrow(/not supported/);
    expect(() => parseSqlUrl("")).toThrow(/empty/);
  });

  it("opens an in-memory store and a sqlite: URL", async () => {
    const memory = openSqlStore({ url: ":memory:" });
    opened.push(memory);
    await memory.migrate();
    expect(memory.flavor).toBe("sqlite");
    const s = await memory.insert(newSession());
    expect(await memory.get(s.id)).toEqual(s);

    const viaUrl = openSqlStore({ url: `sqlite:${join(dir, "gw.db")}` });
    opened.push(viaUrl);
    await viaUrl.migrate();
    expect(await viaUrl.get(s.id)).toBeUndefined();
  });

  it("turns ?schema= into pg's search_path option and keeps everything else of the URL", () => {
    expect(postgresConnection("postgres://u:p@db.example:5433/gw?schema=gw_a")).toEqual({
      connectionString: "postgres://u:p@db.example:5433/gw?options=-c+search_path%3Dgw_a",
      schema: "gw_a",
    });
    // Merged with options already there; other parameters pass through.
    expect(
      postgresConnection("postgresql://u@h/gw?sslmode=require&options=-c%20work_mem%3D4MB&schema=tenant_1&application_name=x"),
    ).toEqual({
      connectionString: "postgresql://u@h/gw?sslmode=require&options=-c+work_mem%3D4MB+-c+search_path%3Dtenant_1&application_name=x",
      schema: "tenant_1",
    });
    expect(postgresConnection("postgres://u@h/gw")).toEqual({ connectionString: "postgres://u@h/gw", schema: null });
    expect(postgresConnection("postgres://h/gw?user=alice")).toEqual({ connectionString: "postgres://h/gw?user=alice", schema: null });
    for (const bad of ["Gw", "gw-x", "gw;drop", "1gw", "", "a b"]) {
      expect(() => postgresConnection(`postgres://u@h/gw?schema=${encodeURIComponent(bad)}`)).toThrow(/schema/);
    }
  });

  it("falls back to the OS user name when the URL, PGUSER and USER name none (as psql does)", () => {
    const saved = { PGUSER: process.env.PGUSER, USER: process.env.USER };
    try {
      delete process.env.PGUSER;
      delete process.env.USER;
      const { connectionString } = postgresConnection("postgres://127.0.0.1:5432/test");
      expect(connectionString).toMatch(/^postgres:\/\/127\.0\.0\.1:5432\/test\?user=[^&]+$/);
      process.env.USER = "someone";
      expect(postgresConnection("postgres://127.0.0.1:5432/test").connectionString).toBe("postgres://127.0.0.1:5432/test");
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it.runIf(PG)("opens postgres:// and postgresql:// URLs, creating the ?schema= schema on migrate()", async () => {
    const schema = randomSchemaName();
    try {
      for (const scheme of ["postgres", "postgresql"]) {
        const url = withSchema(TEST_DATABASE_URL.replace(/^postgres(ql)?:/, `${scheme}:`), schema);
        const store = openSqlStore({ url, poolSize: 1 });
        opened.push(store);
        expect(store.flavor).toBe("postgres");
        await store.migrate();
        await store.insert(newSession({ id: `${scheme}-1` }));
      }
      const rows = await adminQuery<{ id: string }>(`select id from "${schema}".charging_sessions order by id`);
      expect(rows.map((r) => r.id)).toEqual(["postgres-1", "postgresql-1"]);
    } finally {
      await closeOpened();
      await dropSchema(schema);
    }
  });

  it.runIf(PG)("says clearly when no schema of the search_path exists", async () => {
    const url = `${TEST_DATABASE_URL}${TEST_DATABASE_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${randomSchemaName()}`)}`;
    const store = openSqlStore({ url, poolSize: 1 });
    opened.push(store);
    await expect(store.migrate()).rejects.toThrow(/no schema of the PostgreSQL search_path exists/);
  });
});

describe.skipIf(!PG)("postgres: several pools at once, as several processes", () => {
  const POOLS = 6;
  let schema: TestSchema;
  let stores: SqlSessionStore[];
  const extraSchemas: string[] = [];

  beforeEach(async () => {
    schema = await createTestSchema();
    stores = Array.from({ length: POOLS }, () => openSqlStore({ url: schema.url, poolSize: 2 }));
    opened.push(...stores);
    await stores[0]!.migrate();
    // Every pool connected before the race starts.
    await Promise.all(stores.map((s) => Promise.all([s.get("warm-up"), s.get("warm-up")])));
  });

  afterEach(async () => {
    await closeOpened();
    await schema.drop();
    for (const name of extraSchemas.splice(0)) await dropSchema(name);
  });

  /** Every pool makes `perPool` calls at once. */
  const race = <T>(perPool: number, call: (store: SqlSessionStore, i: number) => Promise<T>): Promise<T[]> =>
    Promise.all(stores.flatMap((store, p) => Array.from({ length: perPool }, (_, k) => call(store, p * perPool + k))));

  it("three stores migrating the same fresh schema at once: all succeed, each migration runs once", async () => {
    for (let round = 0; round < 3; round++) {
      // An empty schema that exists, and one that migrate() has to create.
      const empty = await createTestSchema();
      extraSchemas.push(empty.schema);
      const missing = randomSchemaName();
      extraSchemas.push(missing);
      for (const url of [empty.url, withSchema(TEST_DATABASE_URL, missing)]) {
        const three = Array.from({ length: 3 }, () => openSqlStore({ url, poolSize: 2 }));
        opened.push(...three);
        await Promise.all(three.map((s) => s.migrate()));
        const name = url === empty.url ? empty.schema : missing;
        const ran = await adminQuery<{ name: string }>(`select name from "${name}".kysely_migration order by name`);
        expect(ran.map((r) => r.name)).toEqual([
          "0001_sessions_inbound_idempotency",
          "0002_origin_in_flight_contracts",
          "0003_keys_raw_inbound_anomalies",
          "0004_idempotency_results",
          "0005_identifications",
          "0006_evse_catalogue",
          "0007_pricing",
        ]);
        const created = await three[1]!.insert(newSession());
        expect(await three[2]!.get(created.id)).toEqual(created);
      }
    }
  });

  it("replace() from the same version: exactly one of all the pools wins, every time", async () => {
    const statuses: SessionStatus[] = ["CHARGING", "REJECTED", "FAILED", "COMPLETED", "STOP_REQUESTED", "CHARGING_ENDED"];
    for (let round = 0; round < 5; round++) {
      const base = await stores[0]!.insert(newSession());
      const attempts = stores.map(
        (_, i): ChargingSession => ({ ...base, status: statuses[i % statuses.length]!, errorInfo: `pool-${i}`, version: 2 }),
      );
      const results = await Promise.all(stores.map((store, i) => store.replace(attempts[i]!)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = attempts[results.indexOf(true)]!;
      for (const store of stores) expect(await store.get(base.id)).toEqual(winner);
    }
  });

  it("claimIdempotencyKey: exactly one claim, and every caller gets the winner's session", async () => {
    for (let round = 0; round < 5; round++) {
      const key = `key-${round}`;
      const claims = await race(3, (store, i) => store.claimIdempotencyKey("driver-1", key, "startCharging", `session-${round}-${i}`));
      const winners = claims.filter((c) => c.claimed);
      expect(winners).toHaveLength(1);
      expect(new Set(claims.map((c) => c.sessionId))).toEqual(new Set([winners[0]!.sessionId]));
    }
  });

  it("tryInsert of REQUESTED sessions for one driver and EVSE (any case): exactly one row", async () => {
    for (let round = 0; round < 5; round++) {
      const evseId = `DE*ABC*E${1000 + round}*1`;
      const results = await race(2, (_store, i) =>
        stores[i % POOLS]!.tryInsert(newSession({ status: "REQUESTED", evseId: i % 2 === 0 ? evseId : evseId.toLowerCase() })),
      );
      const inserted = results.filter((r) => r !== null);
      expect(inserted).toHaveLength(1);
      const rows = await adminQuery<{ id: string }>(
        `select id from "${schema.schema}".charging_sessions where status = 'REQUESTED' and upper(evse_id) = $1`,
        [evseId.toUpperCase()],
      );
      expect(rows.map((r) => r.id)).toEqual([inserted[0]!.id]);
      expect((await stores[3]!.findRequested("driver-1", evseId))?.id).toBe(inserted[0]!.id);
    }
  });

  it("tryInsert of sessions for one Hubject SessionID: exactly one row", async () => {
    const results = await race(2, () => stores[0]!.tryInsert(newSession({ origin: "CHARGER", hubjectSessionId: "hub-race" })));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const results2 = await race(2, (store) => store.tryInsert(newSession({ origin: "CHARGER", hubjectSessionId: "hub-race-2" })));
    expect(results2.filter((r) => r !== null)).toHaveLength(1);
  });

  it("recordInbound with one dedupe key: stored once", async () => {
    for (let round = 0; round < 5; round++) {
      const hubjectSessionId = `hub-dedupe-${round}`;
      const results = await race(2, (store, i) =>
        store.recordInbound(inbound({ hubjectSessionId, dedupeKey: `${hubjectSessionId}|Start|t`, text: JSON.stringify({ from: i }) })),
      );
      const stored = results.filter((r) => "seq" in r);
      expect(stored).toHaveLength(1);
      const seq = seqOf(stored[0]!);
      expect(results.filter((r) => !("seq" in r)).every((r) => "holder" in r && r.holder.seq === seq)).toBe(true);
      const kept = await stores[5]!.waitingInbound(hubjectSessionId);
      expect(kept.map((m) => m.seq)).toEqual([seq]);
    }
  });
});
