// SessionStore over Kysely. Every query here is portable SQL (SQLite >= 3.35 and
// PostgreSQL): no pragmas, no engine-specific functions, RETURNING and ON CONFLICT
// through Kysely's builders. Engine differences live in database.ts and migrations.ts.
//
// Safety across processes comes from the database alone: replace() is a conditional
// update on `version`, dedupe and idempotency are unique keys. No in-process locks.
import type { Kysely, Selectable } from "kysely";
import { LRUCache } from "lru-cache";
import { DEFAULTS } from "../../config/defaults.js";
import {
  type ChargingSession,
  type FiguresSource,
  SESSION_STATUSES,
  type SessionOrigin,
  type SessionStatus,
  type StatusCode,
  TERMINAL_STATUSES,
} from "../../sessions/session.js";
import { cdrFromWire, cdrToWire, record } from "../../sessions/session.json.js";
import type {
  InboundMessage,
  NewSession,
  SessionPageQuery,
  SessionScan,
  SessionStore,
  StoredInboundMessage,
} from "../../sessions/session.store.js";
import { migrateToLatest } from "./migrations.js";
import type { ChargingSessionsTable, Database, InboundMessagesTable, SqlFlavor } from "./tables.js";

/** Statuses from which a start answer can still attach a Hubject SessionID. */
const AWAITING_ANSWER_STATUSES: readonly SessionStatus[] = ["REQUESTED", "OUTCOME_UNKNOWN", "ACCEPTED"];
const TERMINAL: readonly SessionStatus[] = [...TERMINAL_STATUSES];
/** Keeps `IN (...)` lists well under SQLite's and PostgreSQL's bound-parameter limits. */
const IN_LIST_CHUNK = 500;

type SessionRow = Selectable<ChargingSessionsTable>;
type InboundRow = Selectable<InboundMessagesTable>;

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

  constructor(
    private readonly db: Kysely<Database>,
    options: SqlSessionStoreOptions = {},
  ) {
    this.flavor = options.flavor ?? "sqlite";
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
      .where((eb) => eb(eb.fn("upper", ["evse_id"]), "=", eb.fn("upper", [eb.val(evseId)])))
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

  async unattachedInboundBetween(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<StoredInboundMessage[]> {
    const rows = await this.db
      .selectFrom("inbound_messages")
      .selectAll()
      .where("session_id", "is", null)
      .where("received_at", ">=", toIso(receivedAfter))
      .where("received_at", "<", toIso(receivedBefore))
      .orderBy("seq", "asc")
      .limit(limit)
      .execute();
    return rows.map(rowToInbound);
  }

  async recordDriverContracts(driverId: string, evcoIds: readonly string[]): Promise<void> {
    const seenAt = toIso(new Date());
    for (const evcoId of new Set(evcoIds.map((id) => id.toUpperCase()))) {
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
      .where("evco_id", "=", evcoId.toUpperCase())
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
      .where("hubject_session_id", "=", hubjectSessionId)
      .executeTakeFirst();
    return row && rowToSession(row);
  }

  async findAwaitingAnswer(evseId: string, evcoId: string, since: Date): Promise<ChargingSession | undefined> {
    // upper() on both sides, matching the expression index of migration 0001.
    const row = await this.db
      .selectFrom("charging_sessions")
      .selectAll()
      .where((eb) =>
        eb.and([
          eb(eb.fn("upper", ["evse_id"]), "=", eb.fn("upper", [eb.val(evseId)])),
          eb(eb.fn("upper", ["evco_id"]), "=", eb.fn("upper", [eb.val(evcoId)])),
        ]),
      )
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

  async recordInbound(message: InboundMessage): Promise<{ stored: boolean; seq: number | null }> {
    // ON CONFLICT DO NOTHING + RETURNING: a duplicate returns no row and raises no error,
    // on SQLite and PostgreSQL alike (and leaves a PostgreSQL transaction usable).
    const row = await this.db
      .insertInto("inbound_messages")
      .values({
        kind: message.kind,
        type: message.type,
        hubject_session_id: message.hubjectSessionId,
        emp_partner_session_id: message.empPartnerSessionId,
        evse_id: message.evseId,
        evco_id: message.evcoId,
        dedupe_key: message.dedupeKey,
        body: JSON.stringify(message.body),
        received_at: toIso(message.receivedAt),
        session_id: null,
      })
      .onConflict((oc) => oc.column("dedupe_key").doNothing())
      .returning("seq")
      .executeTakeFirst();
    return row ? { stored: true, seq: Number(row.seq) } : { stored: false, seq: null };
  }

  async unattachedInbound(hubjectSessionId: string): Promise<StoredInboundMessage[]> {
    const rows = await this.db
      .selectFrom("inbound_messages")
      .selectAll()
      .where("hubject_session_id", "=", hubjectSessionId)
      .where("session_id", "is", null)
      .orderBy("seq", "asc")
      .execute();
    return rows.map(rowToInbound);
  }

  async attachInbound(seqs: readonly number[], sessionId: string): Promise<void> {
    const unique = [...new Set(seqs)];
    for (let i = 0; i < unique.length; i += IN_LIST_CHUNK) {
      await this.db
        .updateTable("inbound_messages")
        .set({ session_id: sessionId })
        .where("seq", "in", unique.slice(i, i + IN_LIST_CHUNK))
        .execute();
    }
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
    const existing = await this.idempotencySession(driverId, key);
    if (existing === undefined) {
      // Only possible if the row was deleted between the two statements.
      throw new Error("Idempotency key vanished while being claimed; retry the request");
    }
    return { claimed: false, sessionId: existing };
  }

  async idempotencySession(driverId: string, key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("idempotency_keys")
      .select("session_id")
      .where("driver_id", "=", driverId)
      .where("key", "=", key)
      .executeTakeFirst();
    return row?.session_id;
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

/** A new session row: version 1, nothing heard yet. */
function newSession(input: NewSession): ChargingSession {
  return {
    id: input.id,
    driverId: input.driverId,
    origin: input.origin ?? "APP",
    hubjectSessionId: input.hubjectSessionId ?? null,
    cpoPartnerSessionId: null,
    evseId: input.evseId,
    evcoId: input.evcoId,
    partnerProductId: input.partnerProductId,
    status: input.status,
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
}

// ---------------------------------------------------------------------------
// Row <-> domain. The only place that knows the column encodings.

const toIso = (date: Date): string => {
  if (Number.isNaN(date.getTime())) throw new RangeError("Cannot store an invalid Date");
  return date.toISOString();
};
const toIsoOrNull = (date: Date | null): string | null => (date === null ? null : toIso(date));

const fromIso = (value: string, column: string): Date => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`Stored ${column} is not a timestamp: ${JSON.stringify(value)}`);
  return date;
};
const fromIsoOrNull = (value: string | null, column: string): Date | null => (value === null ? null : fromIso(value, column));

/** JSON columns are text today; accepting an already parsed value keeps a later jsonb column working. */
const parseJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value);

function sessionToRow(s: ChargingSession): SessionRow {
  return {
    id: s.id,
    driver_id: s.driverId,
    origin: s.origin,
    hubject_session_id: s.hubjectSessionId,
    cpo_partner_session_id: s.cpoPartnerSessionId,
    evse_id: s.evseId,
    evco_id: s.evcoId,
    partner_product_id: s.partnerProductId,
    status: s.status,
    last_status_code: s.lastStatusCode === null ? null : JSON.stringify(s.lastStatusCode),
    requested_at: toIso(s.requestedAt),
    charging_started_at: toIsoOrNull(s.chargingStartedAt),
    charging_ended_at: toIsoOrNull(s.chargingEndedAt),
    session_started_at: toIsoOrNull(s.sessionStartedAt),
    session_ended_at: toIsoOrNull(s.sessionEndedAt),
    stop_requested_at: toIsoOrNull(s.stopRequestedAt),
    updated_at: toIso(s.updatedAt),
    consumed_energy_kwh: s.consumedEnergyKwh,
    last_progress_at: toIsoOrNull(s.lastProgressAt),
    last_event_at: toIsoOrNull(s.lastEventAt),
    figures_source: s.figuresSource,
    error_type: s.errorType,
    error_info: s.errorInfo,
    charge_detail_record: s.chargeDetailRecord === null ? null : JSON.stringify(cdrToWire(s.chargeDetailRecord)),
    version: s.version,
  };
}

function rowToSession(r: SessionRow): ChargingSession {
  if (!SESSION_STATUSES.includes(r.status)) throw new Error(`Session ${r.id} has an unknown status ${JSON.stringify(r.status)}`);
  return {
    id: r.id,
    driverId: r.driver_id,
    origin: r.origin as SessionOrigin,
    hubjectSessionId: r.hubject_session_id,
    cpoPartnerSessionId: r.cpo_partner_session_id,
    evseId: r.evse_id,
    evcoId: r.evco_id,
    partnerProductId: r.partner_product_id,
    status: r.status,
    lastStatusCode: r.last_status_code === null ? null : (parseJson(r.last_status_code) as StatusCode),
    requestedAt: fromIso(r.requested_at, "requested_at"),
    chargingStartedAt: fromIsoOrNull(r.charging_started_at, "charging_started_at"),
    chargingEndedAt: fromIsoOrNull(r.charging_ended_at, "charging_ended_at"),
    sessionStartedAt: fromIsoOrNull(r.session_started_at, "session_started_at"),
    sessionEndedAt: fromIsoOrNull(r.session_ended_at, "session_ended_at"),
    stopRequestedAt: fromIsoOrNull(r.stop_requested_at, "stop_requested_at"),
    updatedAt: fromIso(r.updated_at, "updated_at"),
    consumedEnergyKwh: r.consumed_energy_kwh,
    lastProgressAt: fromIsoOrNull(r.last_progress_at, "last_progress_at"),
    lastEventAt: fromIsoOrNull(r.last_event_at, "last_event_at"),
    figuresSource: r.figures_source as FiguresSource | null,
    errorType: r.error_type,
    errorInfo: r.error_info,
    chargeDetailRecord:
      r.charge_detail_record === null ? null : cdrFromWire(record(parseJson(r.charge_detail_record), "charge_detail_record")),
    // PostgreSQL drivers may hand integers back as strings or bigints.
    version: Number(r.version),
  };
}

function rowToInbound(r: InboundRow): StoredInboundMessage {
  if (r.kind !== "NOTIFICATION" && r.kind !== "CDR") throw new Error(`Inbound message ${r.seq} has an unknown kind ${r.kind}`);
  return {
    seq: Number(r.seq),
    kind: r.kind,
    type: r.type,
    hubjectSessionId: r.hubject_session_id,
    empPartnerSessionId: r.emp_partner_session_id,
    evseId: r.evse_id,
    evcoId: r.evco_id,
    dedupeKey: r.dedupe_key,
    body: parseJson(r.body) as Record<string, unknown>,
    receivedAt: fromIso(r.received_at, "received_at"),
    sessionId: r.session_id,
  };
}
