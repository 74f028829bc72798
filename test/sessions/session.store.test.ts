// SqlSessionStore against a real SQLite file, the way the gateway runs it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChargeDetailRecord, ChargingSession, SessionStatus } from "../../src/sessions/session.js";
import type { InboundMessage, NewSession } from "../../src/sessions/session.store.js";
import { createSqliteDatabase, openSqlStore, parseSqlUrl } from "../../src/sessions/sql/database.js";
import { SqlSessionStore } from "../../src/sessions/sql/sql.store.js";

let dir: string;
let file: string;
let opened: SqlSessionStore[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "session-store-"));
  file = join(dir, "nested", "gateway.db");
  opened = [];
});

afterEach(async () => {
  for (const store of opened) await store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a store on the test's file; a second call is a second connection, like a second process. */
async function openStore(): Promise<SqlSessionStore> {
  const store = new SqlSessionStore(createSqliteDatabase(file));
  opened.push(store);
  await store.migrate();
  return store;
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
    lastStatusCode: { code: "000", description: "Success", additionalInfo: "ok ✓ \"quoted\"" },
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
    version: base.version + 1,
  };
}

function inbound(overrides: Partial<InboundMessage> = {}): InboundMessage {
  return {
    kind: "NOTIFICATION",
    type: "Start",
    hubjectSessionId: "hub-1",
    empPartnerSessionId: null,
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-8EO-CAET5E4XY-3",
    dedupeKey: `hub-1|Start|${T0.toISOString()}`,
    body: { Type: "Start", SessionID: "hub-1", ChargingStart: "2024-05-01T12:00:00+02:00", MeterValueStart: null },
    receivedAt: at(1),
    ...overrides,
  };
}

describe("migrations", () => {
  it("can run twice and creates the file's parent folder", async () => {
    const store = await openStore();
    await store.migrate();
    await store.migrate();
    const second = await openStore();
    await second.migrate();
    expect(await store.get("nope")).toBeUndefined();
  });

  it("lets findAwaitingAnswer use the upper(evse_id), upper(evco_id) index", async () => {
    await openStore();
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      const plan = raw
        .prepare(
          `explain query plan select * from "charging_sessions" where (upper("evse_id") = upper(?) and upper("evco_id") = upper(?))
           and "hubject_session_id" is null and "requested_at" >= ? order by "requested_at" desc, "id" desc limit 1`,
        )
        .all("a", "b", "c") as { detail: string }[];
      expect(plan.map((p) => p.detail).join("\n")).toContain("charging_sessions_evse_evco_idx");
    } finally {
      raw.close();
    }
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
    expect(cdr?.chargingEnd.toISOString()).toBe("2024-05-01T11:20:00.999Z");
    // The CPO's offsets stay as sent (FACTS.md §4).
    expect(cdr?.raw["SessionStart"]).toBe("2024-05-01T12:01:00.123+02:00");
    expect(cdr?.raw["MeterValueInBetween"]).toEqual({ meterValues: [1005.1, 1012.25] });

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
      created.filter((s) => !terminal.has(s.status)).sort(newestFirst).map((s) => s.id),
    );
    expect(finished.sessions.map((s) => s.id)).toEqual(
      created.filter((s) => terminal.has(s.status)).sort(newestFirst).map((s) => s.id),
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
});

describe("inbound messages", () => {
  it("stores a message once; a repeated dedupe key stores nothing", async () => {
    const store = await openStore();
    const first = await store.recordInbound(inbound());
    expect(first.stored).toBe(true);
    expect(typeof first.seq).toBe("number");

    const again = await store.recordInbound(inbound({ body: { different: true }, receivedAt: at(9) }));
    expect(again).toEqual({ stored: false, seq: null });

    const stored = await store.unattachedInbound("hub-1");
    expect(stored).toHaveLength(1);
    expect(stored[0]).toEqual({ ...inbound(), seq: first.seq, sessionId: null });
  });

  it("lists unattached messages of one Hubject SessionID oldest first, and attaches them", async () => {
    const store = await openStore();
    const session = await store.insert(newSession());
    const start = await store.recordInbound(inbound());
    const progress = await store.recordInbound(
      inbound({ type: "Progress", dedupeKey: "hub-1|Progress|t1", body: { Type: "Progress", ConsumedEnergyProgress: "1.5" } }),
    );
    const cdr = await store.recordInbound(
      inbound({ kind: "CDR", type: "CDR", dedupeKey: "hub-1", empPartnerSessionId: session.id, evcoId: null }),
    );
    await store.recordInbound(inbound({ hubjectSessionId: "hub-2", dedupeKey: "hub-2|Start|t0" }));

    const waiting = await store.unattachedInbound("hub-1");
    expect(waiting.map((m) => m.seq)).toEqual([start.seq, progress.seq, cdr.seq]);
    expect(waiting[2]).toMatchObject({ kind: "CDR", empPartnerSessionId: session.id, evcoId: null, sessionId: null });
    expect(waiting[1]?.body).toEqual({ Type: "Progress", ConsumedEnergyProgress: "1.5" });

    await store.attachInbound([], session.id);
    await store.attachInbound([start.seq!, progress.seq!], session.id);
    expect((await store.unattachedInbound("hub-1")).map((m) => m.seq)).toEqual([cdr.seq]);
    await store.attachInbound([cdr.seq!], session.id);
    expect(await store.unattachedInbound("hub-1")).toEqual([]);
    expect(await store.unattachedInbound("hub-2")).toHaveLength(1);
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

describe("restart", () => {
  it("keeps sessions, messages and keys when the file is closed and reopened", async () => {
    const store = await openStore();
    const created = await store.insert(newSession());
    const full = fullyPopulated(created);
    await store.replace(full);
    const message = await store.recordInbound(inbound({ hubjectSessionId: "hub-r", dedupeKey: "hub-r|Start|t" }));
    await store.claimIdempotencyKey("driver-1", "key-r", "startCharging", created.id);
    await store.close();

    const reopened = openSqlStore({ url: pathToFileURL(file).href });
    opened.push(reopened);
    await reopened.migrate();
    expect(await reopened.get(created.id)).toEqual(full);
    expect(await reopened.findByHubjectSessionId(full.hubjectSessionId!)).toEqual(full);
    expect((await reopened.unattachedInbound("hub-r")).map((m) => m.seq)).toEqual([message.seq]);
    expect(await reopened.recordInbound(inbound({ hubjectSessionId: "hub-r", dedupeKey: "hub-r|Start|t" }))).toEqual({
      stored: false,
      seq: null,
    });
    expect(await reopened.claimIdempotencyKey("driver-1", "key-r", "startCharging", "other")).toEqual({
      claimed: false,
      sessionId: created.id,
    });
    // The next sequence number continues after the old ones.
    const later = await reopened.recordInbound(inbound({ dedupeKey: "after-restart" }));
    expect(later.seq).toBeGreaterThan(message.seq!);
  });
});

describe("openSqlStore", () => {
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
    expect(() => parseSqlUrl("mysql://localhost/db")).toThrow(/not supported/);
    expect(() => parseSqlUrl("")).toThrow(/empty/);
  });

  it("opens an in-memory store and a sqlite: URL", async () => {
    const memory = openSqlStore({ url: ":memory:" });
    opened.push(memory);
    await memory.migrate();
    const s = await memory.insert(newSession());
    expect(await memory.get(s.id)).toEqual(s);

    const viaUrl = openSqlStore({ url: `sqlite:${file}` });
    opened.push(viaUrl);
    await viaUrl.migrate();
    expect(await viaUrl.get(s.id)).toBeUndefined();
  });

  it("refuses PostgreSQL for now, clearly", () => {
    expect(() => openSqlStore({ url: "postgres://localhost/gateway" })).toThrow(/PostgreSQL.*not supported yet/);
    expect(() => openSqlStore({ url: "postgresql://localhost/gateway" })).toThrow(/not supported yet/);
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
    const base = { kind: "NOTIFICATION" as const, type: "Start", empPartnerSessionId: null, evseId: "DE*ABC*E1234*1", evcoId: null, body: {} };
    const one = await store.recordInbound({ ...base, hubjectSessionId: "h-1", dedupeKey: "k1", receivedAt: at(0) });
    await store.recordInbound({ ...base, hubjectSessionId: "h-2", dedupeKey: "k2", receivedAt: at(10) });
    const s = await store.insert(newSession());
    const three = await store.recordInbound({ ...base, hubjectSessionId: "h-3", dedupeKey: "k3", receivedAt: at(1) });
    await store.attachInbound([three.seq!], s.id);
    expect((await store.unattachedInboundBetween(at(-60), at(5), 10)).map((m) => m.seq)).toEqual([one.seq]);
    expect(await store.unattachedInboundBetween(at(0, 1), at(5), 10)).toEqual([]);
  });

  it("remembers who holds a contract, case-insensitively, and moves it when another driver claims it", async () => {
    const store = await openStore();
    await store.recordDriverContracts("alice", ["de-8eo-caet5e4xy-3", "DE-8EO-CAET5E4XY-3"]);
    expect(await store.driverForContract("DE-8EO-CAET5E4XY-3")).toBe("alice");
    await store.recordDriverContracts("bob", ["DE-8EO-CAET5E4XY-3"]);
    expect(await store.driverForContract("de-8eo-caet5e4xy-3")).toBe("bob");
    expect(await store.driverForContract("DE-8EO-CXXXXXXXX-1")).toBeUndefined();
  });
});
