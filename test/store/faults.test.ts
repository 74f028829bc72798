// Database faults become StoreUnavailableError (retryable) at the store's edge, on PostgreSQL and
// SQLite alike, and the store works again as soon as the database does; other errors stay as they are.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/sessions/session.store.js";
import { createPostgresDatabase, openSqlStore } from "../../src/store/sql/database.js";
import { isUnavailable } from "../../src/store/sql/faults.js";
import { adminQuery, createTestSchema } from "./pg-support.js";

const error = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe("isUnavailable", () => {
  it.each([
    ["a terminated backend (57P01)", error("terminating connection due to administrator command", "57P01")],
    ["a connection failure (08006)", error("connection failure", "08006")],
    ["too many connections (53300)", error("sorry, too many clients already", "53300")],
    ["a refused socket", error("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED")],
    ["a reset socket", error("read ECONNRESET", "ECONNRESET")],
    ["pg's lost connection", error("Connection terminated unexpectedly")],
    ["pg's pool timeout", error("timeout exceeded when trying to connect")],
    ["SQLite busy past busy_timeout", error("database is locked", "SQLITE_BUSY")],
    ["SQLite I/O", error("disk I/O error", "SQLITE_IOERR_WRITE")],
  ])("%s is unavailability", (_name, fault) => {
    expect(isUnavailable(fault)).toBe(true);
  });

  it.each([
    ["a unique violation", error("duplicate key value violates unique constraint", "23505")],
    ["a syntax error", error('syntax error at or near "selec"', "42601")],
    ["a SQLite constraint", error("UNIQUE constraint failed", "SQLITE_CONSTRAINT_UNIQUE")],
    ["a plain bug", new TypeError("cannot read properties of undefined")],
  ])("%s is not", (_name, fault) => {
    expect(isUnavailable(fault)).toBe(false);
  });
});

describe("PostgreSQL", () => {
  it("a query whose connection is killed fails as StoreUnavailableError; the next query works", async () => {
    const schema = await createTestSchema();
    const appName = `faults_${Date.now()}`;
    const db = createPostgresDatabase(`${schema.url}&application_name=${appName}`, { poolSize: 2 });
    try {
      const slow = sql`select pg_sleep(5)`.execute(db).catch((e: unknown) => e);
      await expect
        .poll(
          async () =>
            (
              await adminQuery("select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active'", [
                appName,
              ])
            )[0]!.n,
        )
        .toBe(1);
      await adminQuery("select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1", [appName]);
      const failed = await slow;
      expect(failed).toBeInstanceOf(StoreUnavailableError);
      expect((failed as Error).message).toMatch(/DATABASE_URL/);
      expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.destroy();
      await schema.drop();
    }
  });
});

describe("SQLite", () => {
  const dir = mkdtempSync(join(tmpdir(), "emp-faults-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a file locked by another process past busy_timeout fails as StoreUnavailableError; it works once the lock goes", async () => {
    const file = join(dir, "locked.sqlite");
    const store = openSqlStore({ url: file });
    await store.migrate();
    const other = new BetterSqlite3(file);
    other.exec("begin immediate");
    try {
      // WAL lets readers through; a write waits busy_timeout (5 s) for the lock, then gives up.
      const failed = await store.recordDriverContracts("alice", ["DE-GQL-C00000001-7"]).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(StoreUnavailableError);
    } finally {
      other.exec("rollback");
      other.close();
    }
    await store.recordDriverContracts("alice", ["DE-GQL-C00000001-7"]);
    expect(await store.driverForContract("DE-GQL-C00000001-7")).toBe("alice");
    await store.close();
  }, 20_000);
});
