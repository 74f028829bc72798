// SessionStore over Kysely. Every query here is portable SQL (SQLite >= 3.35 and
// PostgreSQL): no pragmas, no engine-specific functions, RETURNING and ON CONFLICT
// through Kysely's builders. Engine differences live in database.ts and migrations.ts.
//
// Safety across processes comes from the database alone: replace() is a conditional
// update on `version`, dedupe and idempotency are unique keys. No in-process locks.
import type { Kysely } from "kysely";
import { LRUCache } from "lru-cache";
import { DEFAULTS } from "../../config/defaults.js";
import { evcoIdKey, evseIdKey, sessionIdKey } from "../../oicp/wire/identifiers.js";
import type { ChargingErrorInfo } from "../../oicp/wire/status-codes.js";
import { type ChargingSession, type SessionStatus, TERMINAL_STATUSES } from "../../sessions/session.js";
import type {
  IdempotencyRecord,
  InboundKind,
  InboundMessage,
  InboundState,
  InboundUpdate,
  NewSession,
  SessionPageQuery,
  SessionScan,
  SessionStore,
  StoredInboundMessage,
} from "../../sessions/session.store.js";
import { SqlCatalogueStore } from "./catalogue.sql.js";
import { SqlIdentificationStore } from "./identifications.sql.js";
import * as inbound from "./inbound.sql.js";
import { migrateToLatest } from "./migrations.js";
import { SqlPricingStore } from "./pricing.sql.js";
import { newSession, rowToSession, type SessionRow, sessionToRow, toIso } from "./rows.js";
import type { Database, SqlFlavor } from "./tables.js";

/** Statuses from which a start answer can still attach a Hubject SessionID. */
const AWAITING_ANSWER_STATUSES: readonly SessionStatus[] = ["REQUESTED", "OUTCOME_UNKNOWN", "ACCEPTED"];
const TERMINAL: readonly SessionStatus[] = [...TERMINAL_STATUSES];
/** Keeps `IN (...)` lists well under SQLite's and PostgreSQL's bound-parameter limits. */
const IN_LIST_CHUNK = 500;

export interface SqlSessionStoreOptions {
  flavor?: SqlFlavor;
  /** PostgreSQL: the schema the URL selected (`?schema=`). */
  schema?: string | null;
  /** How many decoded sessions listForDriver keeps in memory; 0 turns the cache off. Default 10 000. */
  sessionCacheSize?: number;
  /**
   * A number that changes whenever another connection commits (SQLite's PRAGMA data_version).
   * With it, a page read repeated while nothing was written is answered from memory.
   */
  externalChanges?: () => number;
}

/** Pages kept per store when externalChanges is given (a page is a list of cached sessions). */
const PAGE_CACHE_SIZE = 1_000;
type SessionPage = { sessions: ChargingSession[]; hasNextPage: boolean };

export class SqlSessionStore implements SessionStore {
  readonly flavor: SqlFlavor;
  /** PostgreSQL: the schema the URL selected (`?schema=`), which migrate() creates if missing. */
  private readonly schema: string | null;
  /**
   * Decoded sessions by id, checked against the database's `version` on every read, so it can
   * never serve a stale session: each change to a row goes through replace(), which raises its
   * version (whichever process writes it). A page read asks the database for ids and versions
   * only and decodes just the rows it does not hold at that version. Entries are frozen.
   */
  private readonly cache: LRUCache<string, ChargingSession> | null;
  /**
   * Whole pages, stamped with (externalChanges(), writes of this store) as they were before the
   * page was read: a commit by anyone since then changes the stamp and the page is read again.
   * The write counter is raised after each session write completes, so a read overlapping a
   * write can only be stamped older than the write, never newer.
   */
  private readonly pages: LRUCache<string, { stamp: string; page: SessionPage }> | null;
  private readonly externalChanges: (() => number) | null;
  private sessionWrites = 0;
  /** The identifications registry, in the same database (src/identifications). */
  readonly identifications: SqlIdentificationStore;
  /** The EVSE catalogue, in the same database (src/catalogue). */
  readonly catalogue: SqlCatalogueStore;
  /** Dynamic pricing, in the same database (src/pricing). */
  readonly pricing: SqlPricingStore;

  constructor(
    private readonly db: Kysely<Database>,
    options: SqlSessionStoreOptions = {},
  ) {
    this.flavor = options.flavor ?? "sqlite";
    this.identifications = new SqlIdentificationStore(db);
    this.catalogue = new SqlCatalogueStore(db);
    this.pricing = new SqlPricingStore(db);
    this.schema = options.schema ?? null;
    const cacheSize = options.sessionCacheSize ?? DEFAULTS.sessionCacheSize;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`sessionCacheSize must be an integer ≥ 0, got ${cacheSize}`);
    this.cache = cacheSize > 0 ? new LRUCache({ max: cacheSize }) : null;
    this.externalChanges = options.externalChanges ?? null;
    this.pages = this.cache && this.externalChanges ? new LRUCache({ max: PAGE_CACHE_SIZE }) : null;
  }

  /** Runs a write to charging_sessions and then moves the page stamp on, whatever its outcome. */
  private async sessionWrite<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.sessionWrites++;
    }
  }

  /** Keeps a session this process has just written or read at its current version. */
  private remember(session: ChargingSession): ChargingSession {
    if (!this.cache) return session;
    const frozen = Object.isFrozen(session) ? session : Object.freeze(session);
    this.cache.set(frozen.id, frozen);
    return frozen;
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db, this.flavor, { schema: this.schema });
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async insert(input: NewSession): Promise<ChargingSession> {
    const session = newSession(input);
    await this.sessionWrite(() => this.db.insertInto("charging_sessions").values(sessionToRow(session)).execute());
    return this.remember(session);
  }

  async tryInsert(input: NewSession): Promise<ChargingSession | null> {
    const session = newSession(input);
    // ON CONFLICT DO NOTHING without a target covers every unique index, partial ones included.
    const row = await this.sessionWrite(() =>
      this.db
        .insertInto("charging_sessions")
        .values(sessionToRow(session))
        .onConflict((oc) => oc.doNothing())
        .returning("id")
        .executeTakeFirst(),
    );
    return row ? this.remember(session) : null;
  }

  async findRequested(driverId: string, evseId: string): Promise<ChargingSession | undefined> {
    const row = await this.db
      .selectFrom("charging_sessions")
      .selectAll()
      .where("driver_id", "=", driverId)
      .where("evse_key", "=", evseIdKey(evseId))
      .where("status", "=", "REQUESTED")
      .executeTakeFirst();
    return row && rowToSession(row);
  }

  async scan(query: SessionScan): Promise<ChargingSession[]> {
    let q = this.db.selectFrom("charging_sessions").selectAll().where("status", "in", query.statuses);
    if (query.requestedBefore) q = q.where("requested_at", "<", toIso(query.requestedBefore));
    if (query.lastHeardBefore) {
      const before = toIso(query.lastHeardBefore);
      q = q.where((eb) => eb(eb.fn.coalesce("last_event_at", "requested_at"), "<", before));
    }
    const rows = await q.orderBy("requested_at", "asc").orderBy("id", "asc").limit(query.limit).execute();
    return rows.map(rowToSession);
  }

  async changedSince(since: Date, limit: number): Promise<ChargingSession[]> {
    const rows = await this.db
      .selectFrom("charging_sessions")
      .selectAll()
      .where("updated_at", ">=", toIso(since))
      .orderBy("updated_at", "asc")
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(rowToSession);
  }

  async changedForDriver(driverId: string, since: Date, limit: number): Promise<ChargingSession[]> {
    const rows = await this.db
      .selectFrom("charging_sessions")
      .selectAll()
      .where("driver_id", "=", driverId)
      .where("updated_at", ">=", toIso(since))
      .orderBy("updated_at", "asc")
      .orderBy("id", "asc")
      .limit(limit)
      .execute();
    return rows.map(rowToSession);
  }

  async recordDriverContracts(driverId: string, evcoIds: readonly string[]): Promise<void> {
    const seenAt = toIso(new Date());
    for (const evcoId of new Set(evcoIds.map(evcoIdKey))) {
      await this.db
        .insertInto("driver_contracts")
        .values({ evco_id: evcoId, driver_id: driverId, seen_at: seenAt })
        .onConflict((oc) => oc.column("evco_id").doUpdateSet({ driver_id: driverId, seen_at: seenAt }))
        .execute();
    }
  }

  async driverForContract(evcoId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("driver_contracts")
      .select("driver_id")
      .where("evco_id", "=", evcoIdKey(evcoId))
      .executeTakeFirst();
    return row?.driver_id;
  }

  async get(id: string): Promise<ChargingSession | undefined> {
    const row = await this.db.selectFrom("charging_sessions").selectAll().where("id", "=", id).executeTakeFirst();
    return row && rowToSession(row);
  }

  async getMany(ids: readonly string[]): Promise<ChargingSession[]> {
    const unique = [...new Set(ids)];
    const sessions: ChargingSession[] = [];
    for (let i = 0; i < unique.length; i += IN_LIST_CHUNK) {
      const rows = await this.db
        .selectFrom("charging_sessions")
        .selectAll()
        .where("id", "in", unique.slice(i, i + IN_LIST_CHUNK))
        .execute();
      for (const row of rows) sessions.push(rowToSession(row));
    }
    return sessions;
  }

  async findByHubjectSessionId(hubjectSessionId: string): Promise<ChargingSession | undefined> {
    const row = await this.db
      .selectFrom("charging_sessions")
      .selectAll()
      .where("hubject_session_key", "=", sessionIdKey(hubjectSessionId))
      .executeTakeFirst();
    return row && rowToSession(row);
  }

  async findAwaitingAnswer(evseId: string, evcoId: string, since: Date): Promise<ChargingSession | undefined> {
    // The comparison keys, indexed together since migration 0003.
    const row = await this.db
      .selectFrom("charging_sessions")
      .selectAll()
      .where("evse_key", "=", evseIdKey(evseId))
      .where("evco_key", "=", evcoIdKey(evcoId))
      .where("hubject_session_id", "is", null)
      .where("requested_at", ">=", toIso(since))
      .where("status", "in", AWAITING_ANSWER_STATUSES)
      .orderBy("requested_at", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    return row && rowToSession(row);
  }

  async listForDriver(query: SessionPageQuery): Promise<SessionPage> {
    const { driverId, first, after, active } = query;
    if (!Number.isInteger(first) || first < 1 || first > 100) {
      throw new RangeError(`listForDriver: first must be an integer in 1..100, got ${first}`);
    }
    if (!this.pages || !this.externalChanges) return this.readPage(query);
    const stamp = `${this.externalChanges()}:${this.sessionWrites}`;
    const key = `${driverId}\u0000${first}\u0000${active ?? ""}\u0000${after ? `${after.requestedAt.toISOString()}|${after.id}` : ""}`;
    const kept = this.pages.get(key);
    if (kept?.stamp === stamp) return kept.page;
    const page = await this.readPage(query);
    Object.freeze(page.sessions);
    this.pages.set(key, { stamp, page: Object.freeze(page) });
    return page;
  }

  private async readPage(query: SessionPageQuery): Promise<SessionPage> {
    const { driverId, first, after, active } = query;
    const cache = this.cache;
    let q = cache
      ? this.db.selectFrom("charging_sessions").select(["id", "version"]).where("driver_id", "=", driverId)
      : this.db.selectFrom("charging_sessions").selectAll().where("driver_id", "=", driverId);
    if (active === true) q = q.where("status", "not in", TERMINAL);
    if (active === false) q = q.where("status", "in", TERMINAL);
    if (after !== undefined) {
      // Strictly after the cursor in (requested_at desc, id desc) order.
      const at = toIso(after.requestedAt);
      q = q.where((eb) => eb.or([eb("requested_at", "<", at), eb.and([eb("requested_at", "=", at), eb("id", "<", after.id)])]));
    }
    const rows = await q
      .orderBy("requested_at", "desc")
      .orderBy("id", "desc")
      .limit(first + 1)
      .execute();
    const hasNextPage = rows.length > first;
    const page = rows.slice(0, first);
    if (!cache) return { sessions: (page as SessionRow[]).map(rowToSession), hasNextPage };

    // Ids and versions came from the database just now: decode only what the cache lacks.
    const sessions: (ChargingSession | undefined)[] = page.map(({ id, version }) => {
      const cached = cache.get(id);
      return cached && cached.version === Number(version) ? cached : undefined;
    });
    const missing = page.filter((_, i) => sessions[i] === undefined).map((r) => r.id);
    if (missing.length > 0) {
      // A row may have moved on since the page read; its newer version is as good (its place
      // in the order, requested_at and id, never changes).
      const fetched = new Map((await this.getMany(missing)).map((s) => [s.id, this.remember(s)]));
      page.forEach(({ id }, i) => {
        sessions[i] ??= fetched.get(id);
      });
    }
    return { sessions: sessions.filter((s): s is ChargingSession => s !== undefined), hasNextPage };
  }

  async replace(next: ChargingSession): Promise<boolean> {
    const { id, ...changes } = sessionToRow(next);
    const result = await this.sessionWrite(() =>
      this.db
        .updateTable("charging_sessions")
        .set(changes)
        .where("id", "=", id)
        .where("version", "=", next.version - 1)
        .executeTakeFirst(),
    );
    const replaced = Number(result.numUpdatedRows) === 1;
    if (replaced) this.remember(next);
    return replaced;
  }

  recordInbound(message: InboundMessage): Promise<{ seq: number } | { holder: StoredInboundMessage }> {
    return inbound.recordInbound(this.db, message);
  }

  updateInbound(seq: number, update: InboundUpdate): Promise<void> {
    return inbound.updateInbound(this.db, seq, update);
  }

  inbound(seq: number): Promise<StoredInboundMessage | undefined> {
    return inbound.inboundBySeq(this.db, seq);
  }

  inboundInState(state: InboundState, limit: number): Promise<StoredInboundMessage[]> {
    return inbound.inboundInState(this.db, state, limit);
  }

  waitingInbound(hubjectSessionId: string): Promise<StoredInboundMessage[]> {
    return inbound.waitingInbound(this.db, hubjectSessionId);
  }

  waitingInboundBetween(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<StoredInboundMessage[]> {
    return inbound.waitingInboundBetween(this.db, receivedAfter, receivedBefore, limit);
  }

  inboundWithContent(kind: InboundKind, contentHash: string): Promise<number | undefined> {
    return inbound.inboundWithContent(this.db, kind, contentHash);
  }

  pruneInbound(before: Date): Promise<number> {
    return inbound.pruneInbound(this.db, before);
  }

  async claimIdempotencyKey(
    driverId: string,
    key: string,
    operation: string,
    sessionId: string,
  ): Promise<{ claimed: boolean; sessionId: string }> {
    // The primary key (driver_id, key) decides: only the caller whose insert returned a
    // row claimed it; everyone else reads the winner's session.
    const inserted = await this.db
      .insertInto("idempotency_keys")
      .values({ driver_id: driverId, key, operation, session_id: sessionId, created_at: toIso(new Date()) })
      .onConflict((oc) => oc.columns(["driver_id", "key"]).doNothing())
      .returning("session_id")
      .executeTakeFirst();
    if (inserted) return { claimed: true, sessionId: inserted.session_id };
    const existing = await this.idempotencyKey(driverId, key);
    if (existing === undefined) {
      // Only possible if the row was deleted between the two statements.
      throw new Error("Idempotency key vanished while being claimed; retry the request");
    }
    return { claimed: false, sessionId: existing.sessionId };
  }

  async idempotencyKey(driverId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.db
      .selectFrom("idempotency_keys")
      .select(["session_id", "operation", "settled_at", "result_error"])
      .where("driver_id", "=", driverId)
      .where("key", "=", key)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      sessionId: row.session_id,
      operation: row.operation,
      settled:
        row.settled_at === null ? null : { error: row.result_error === null ? null : (JSON.parse(row.result_error) as ChargingErrorInfo) },
    };
  }

  async settleIdempotencyKey(driverId: string, key: string, error: ChargingErrorInfo | null): Promise<void> {
    await this.db
      .updateTable("idempotency_keys")
      .set({ settled_at: toIso(new Date()), result_error: error === null ? null : JSON.stringify(error) })
      .where("driver_id", "=", driverId)
      .where("key", "=", key)
      .execute();
  }

  async retargetIdempotencyKey(driverId: string, key: string, sessionId: string): Promise<void> {
    await this.db
      .updateTable("idempotency_keys")
      .set({ session_id: sessionId })
      .where("driver_id", "=", driverId)
      .where("key", "=", key)
      .execute();
  }
}
