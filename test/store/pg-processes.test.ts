// Real OS processes on one PostgreSQL schema: three `node` processes load the built store
// (dist/, built by vitest's globalSetup), migrate the fresh schema at the same time, then race
// for the same REQUESTED slot, idempotency key, inbound dedupe key and leader lease. Killing
// the leader process hands the lease to another one.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionStoreMigrations } from "../../src/store/sql/migrations.js";
import { eventually } from "../support/wait.js";
import { adminQuery, createTestSchema, postgresAvailable, type TestSchema } from "./pg-support.js";

const PG = await postgresAvailable();
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const built = (path: string): string => pathToFileURL(join(root, "dist", "src", "store", "sql", path)).href;

const CHILD = `
import { createInterface } from "node:readline";
const [databaseModule, leaderModule, url, id] = process.argv.slice(2);
const { openSqlStore } = await import(databaseModule);
const { createLeaderLease } = await import(leaderModule);
const send = (message) => process.stdout.write(JSON.stringify(message) + "\\n");
const silent = { info() {}, warn() {}, error() {}, debug() {} };

const store = openSqlStore({ url, poolSize: 2 });
await store.migrate();
const lease = createLeaderLease(url, "jobs", silent);
send({ ready: true, pid: process.pid });

for await (const line of createInterface({ input: process.stdin })) {
  if (line === "go") {
    const [inserted, claim, inbound, leader] = await Promise.all([
      store.tryInsert({
        id,
        driverId: "driver-1",
        evseId: id.endsWith("1") ? "de*abc*e1234*1" : "DE*ABC*E1234*1",
        evcoId: "DE-8EO-CAET5E4XY-3",
        partnerProductId: null,
        status: "REQUESTED",
        requestedAt: new Date(),
      }),
      store.claimIdempotencyKey("driver-1", "key-1", "startCharging", id),
      store.recordInbound({
        kind: "NOTIFICATION", source: "push", text: JSON.stringify({ from: id }), operatorId: null, receivedAt: new Date(),
        type: "Start", hubjectSessionId: "hub-1", empPartnerSessionId: null, evseId: "DE*ABC*E1234*1", evcoId: null,
        dedupeKey: "hub-1|Start|t0", contentHash: id, state: "received", problem: null, anomalies: [], duplicateOf: null,
      }),
      lease.isLeader(),
    ]);
    send({ id, inserted: inserted !== null, claim, stored: "seq" in inbound, leader });
  } else if (line === "leader?") {
    send({ id, leader: await lease.isLeader() });
  } else if (line === "bye") {
    break;
  }
}
await lease.close();
await store.close();
process.exit(0);
`;

interface Child {
  process: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
}

function startChild(script: string, url: string, id: string): Child {
  const child = spawn(process.execPath, [script, built("database.js"), built("leader.js"), url, id], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting: { resolve(message: Record<string, unknown>): void; reject(error: Error): void }[] = [];
  const queued: Record<string, unknown>[] = [];
  let exited: Error | null = null;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(message);
    else queued.push(message);
  });
  child.once("exit", (code, signal) => {
    exited = new Error(`child ${id} exited (${code ?? signal}) before answering`);
    for (const waiter of waiting.splice(0)) waiter.reject(exited);
  });
  return {
    process: child,
    next: () => {
      const message = queued.shift();
      if (message) return Promise.resolve(message);
      if (exited) return Promise.reject(exited);
      return new Promise((resolveNext, reject) => waiting.push({ resolve: resolveNext, reject }));
    },
    send: (line) => child.stdin!.write(`${line}\n`),
  };
}

describe.skipIf(!PG)("separate OS processes on one schema", () => {
  let schema: TestSchema;
  let dir: string;
  let children: Child[] = [];

  beforeAll(async () => {
    schema = await createTestSchema();
    dir = mkdtempSync(join(tmpdir(), "pg-processes-"));
  });

  afterAll(async () => {
    for (const child of children) child.process.kill("SIGKILL");
    await Promise.all(
      children.map((c) =>
        c.process.exitCode === null && c.process.signalCode === null ? new Promise((r) => c.process.once("exit", r)) : null,
      ),
    );
    await schema?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("three processes migrate at once, then exactly one wins each race; killing the leader hands the lease on", async () => {
    const script = join(dir, "child.mjs");
    writeFileSync(script, CHILD);
    const ids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"];
    children = ids.map((id) => startChild(script, schema.url, id));

    // All three migrated the fresh schema concurrently.
    const ready = await Promise.all(children.map((c) => c.next()));
    expect(ready.every((m) => m.ready === true)).toBe(true);
    const ran = await adminQuery<{ name: string }>(`select name from "${schema.schema}".kysely_migration order by name`);
    expect(ran.map((m) => m.name)).toEqual(Object.keys(sessionStoreMigrations("postgres")).sort());

    for (const child of children) child.send("go");
    const results = (await Promise.all(children.map((c) => c.next()))) as {
      id: string;
      inserted: boolean;
      claim: { claimed: boolean; sessionId: string };
      stored: boolean;
      leader: boolean;
    }[];

    expect(results.filter((r) => r.inserted)).toHaveLength(1);
    const requested = await adminQuery<{ id: string }>(`select id from "${schema.schema}".charging_sessions where status = 'REQUESTED'`);
    expect(requested.map((r) => r.id)).toEqual([results.find((r) => r.inserted)!.id]);

    const claimed = results.filter((r) => r.claim.claimed);
    expect(claimed).toHaveLength(1);
    expect(results.every((r) => r.claim.sessionId === claimed[0]!.id)).toBe(true);

    expect(results.filter((r) => r.stored)).toHaveLength(1);
    expect(await adminQuery(`select seq from "${schema.schema}".inbound_messages`)).toHaveLength(1);

    const leaders = results.filter((r) => r.leader);
    expect(leaders).toHaveLength(1);

    // The leader process dies without a word: the server drops its session and the lock with it.
    const leaderIndex = results.indexOf(leaders[0]!);
    const leader = children[leaderIndex]!;
    const exited = new Promise((r) => leader.process.once("exit", r));
    leader.process.kill("SIGKILL");
    await exited;

    const survivors = children.filter((_, i) => i !== leaderIndex);
    let next: unknown[] = [];
    await eventually(
      async () => {
        for (const child of survivors) child.send("leader?");
        const answers = await Promise.all(survivors.map((c) => c.next()));
        next = answers.filter((a) => a.leader === true).map((a) => a.id);
        expect(next.length).toBeLessThanOrEqual(1); // never two leaders, at any moment asked
        return next.length === 1;
      },
      "a survivor to take the lease",
      5_000,
      100,
    );
    expect(next).toHaveLength(1);

    for (const child of survivors) {
      child.send("bye");
      child.process.stdin!.end();
    }
    await Promise.all(survivors.map((c) => (c.process.exitCode === null ? new Promise((r) => c.process.once("exit", r)) : null)));
    expect(survivors.map((c) => c.process.exitCode)).toEqual([0, 0]);
  });
});
