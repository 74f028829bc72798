// The leader lease that lets one gateway process of a cluster run the background jobs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLeaderLease, type LeaderLease, type LeaderLogger } from "../../src/store/sql/leader.js";
import { adminQuery, createTestSchema, postgresAvailable, randomSchemaName, type TestSchema } from "./pg-support.js";

const PG = await postgresAvailable();

const quietLogger = (): LeaderLogger & { info: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn> } =>
  ({ info: vi.fn(), warn: vi.fn() }) as never;

const leases: LeaderLease[] = [];
const lease = (url: string, name: string, logger: LeaderLogger = quietLogger()): LeaderLease => {
  const created = createLeaderLease(url, name, logger);
  leases.push(created);
  return created;
};

afterEach(async () => {
  for (const l of leases.splice(0)) await l.close();
});

describe("sqlite", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "leader-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("is always the leader (one process per file), until closed", async () => {
    const file = join(dir, "gw.db");
    const a = lease(file, "jobs");
    const b = lease(`sqlite:${file}`, "jobs");
    expect(await a.isLeader()).toBe(true);
    expect(await b.isLeader()).toBe(true);
    expect(await lease(":memory:", "jobs").isLeader()).toBe(true);
    await a.close();
    expect(await a.isLeader()).toBe(false);
  });

  it("refuses an empty name and an unsupported URL", () => {
    expect(() => createLeaderLease(join(dir, "gw.db"), "", quietLogger())).toThrow(/empty/);
    expect(() => createLeaderLease("mysql://h/db", "jobs", quietLogger())).toThrow(/not supported/);
  });
});

describe.skipIf(!PG)("postgres", () => {
  let schema: TestSchema;
  /** A lease name no other test file uses at the same time. */
  let name: string;

  beforeEach(async () => {
    schema = await createTestSchema();
    name = `jobs-${randomSchemaName()}`;
  });

  afterEach(async () => {
    for (const l of leases.splice(0)) await l.close();
    await schema.drop();
  });

  /** The backend pids holding an advisory lock taken by a lease with this name. */
  const holders = async (leaseName: string): Promise<number[]> =>
    (
      await adminQuery<{ pid: number }>(
        `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.granted and a.application_name = $1`,
        [`emp-gateway-leader:${leaseName}`.slice(0, 63)],
      )
    ).map((r) => r.pid);

  it("two leases on one name: exactly one leader, and it stays so", async () => {
    const logger = quietLogger();
    const a = lease(schema.url, name, logger);
    const b = lease(schema.url, name, logger);
    const first = await Promise.all([a.isLeader(), b.isLeader()]);
    expect(first.filter(Boolean)).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect(await Promise.all([a.isLeader(), b.isLeader()])).toEqual(first);
    expect(await holders(name)).toHaveLength(1);
    expect(logger.info).toHaveBeenCalledTimes(1);
  });

  it("many leases racing (as many processes): exactly one leader", async () => {
    const many = Array.from({ length: 6 }, () => lease(schema.url, name));
    const results = await Promise.all(many.map((l) => l.isLeader()));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("closing the leader lets the other take over on its next isLeader()", async () => {
    const a = lease(schema.url, name);
    const b = lease(schema.url, name);
    expect(await a.isLeader()).toBe(true);
    expect(await b.isLeader()).toBe(false);
    await a.close();
    expect(await a.isLeader()).toBe(false);
    expect(await b.isLeader()).toBe(true);
    expect(await b.isLeader()).toBe(true);
  });

  it("when the server kills the leader's connection, the other takes over and the old leader knows it lost", async () => {
    const aLogger = quietLogger();
    const a = lease(schema.url, name, aLogger);
    const b = lease(schema.url, name);
    expect(await a.isLeader()).toBe(true);
    expect(await b.isLeader()).toBe(false);

    const [pid] = await holders(name);
    expect(pid).toBeDefined();
    // Waits (up to 5 s) until the backend is gone, and with it the lock.
    expect(await adminQuery("select pg_terminate_backend($1, 5000) as done", [pid])).toEqual([{ done: true }]);

    expect(await b.isLeader()).toBe(true);
    expect(await a.isLeader()).toBe(false);
    expect(aLogger.warn).toHaveBeenCalled();
    // a reconnected and keeps asking, without taking the lease from b.
    expect(await a.isLeader()).toBe(false);
    expect(await b.isLeader()).toBe(true);
  });

  it("after the leader's connection died, whoever asks first may lead, never both", async () => {
    const a = lease(schema.url, name);
    const b = lease(schema.url, name);
    expect(await a.isLeader()).toBe(true);
    const [pid] = await holders(name);
    await adminQuery("select pg_terminate_backend($1, 5000)", [pid]);
    for (let i = 0; i < 3; i++) {
      const both = await Promise.all([a.isLeader(), b.isLeader()]);
      expect(both.filter(Boolean).length).toBeLessThanOrEqual(1);
    }
    expect((await Promise.all([a.isLeader(), b.isLeader()])).filter(Boolean)).toHaveLength(1);
    expect(await holders(name)).toHaveLength(1);
  });

  it("different names are independent", async () => {
    const a = lease(schema.url, `${name}-reconcile`);
    const b = lease(schema.url, `${name}-cdr-backfill`);
    expect(await Promise.all([a.isLeader(), b.isLeader()])).toEqual([true, true]);
  });

  it("the same name in another schema (another cluster) is independent", async () => {
    const other = await createTestSchema();
    try {
      const a = lease(schema.url, name);
      const b = lease(other.url, name);
      expect(await Promise.all([a.isLeader(), b.isLeader()])).toEqual([true, true]);
    } finally {
      for (const l of leases.splice(0)) await l.close();
      await other.drop();
    }
  });

  it("is not leader (and does not throw) while the database cannot be reached", async () => {
    const logger = quietLogger();
    const unreachable = lease(`postgres://root@127.0.0.1:1/test?schema=${schema.schema}`, name, logger);
    expect(await unreachable.isLeader()).toBe(false);
    expect(logger.warn).toHaveBeenCalled();
  });
});
