// The session store port. The service depends on this interface only; the adapter
// (SQLite by default, PostgreSQL later) is chosen in one composition root.
import type { ChargingErrorInfo } from "../oicp/wire/status-codes.js";
import type { ChargingSession, FigureAnomaly, SessionOrigin, SessionStatus } from "./session.js";

export interface NewSession {
  id: string;
  driverId: string;
  evseId: string;
  evcoId: string;
  partnerProductId: string | null;
  status: SessionStatus;
  requestedAt: Date;
  /** Default APP. */
  origin?: SessionOrigin;
  /** Known up front for sessions learnt from Hubject's messages. */
  hubjectSessionId?: string | null;
  /** The identification an authorization at the charger started it with. */
  identificationId?: string | null;
}

export interface SessionScan {
  statuses: readonly SessionStatus[];
  /** Only sessions requested before this instant. */
  requestedBefore?: Date;
  /** Only sessions whose last upstream event (or request, if none) is before this instant. */
  lastHeardBefore?: Date;
  limit: number;
}

export interface SessionPageQuery {
  driverId: string;
  /** 1..100 */
  first: number;
  /** Opaque position from a previous page: sessions strictly older than it. */
  after?: { requestedAt: Date; id: string } | undefined;
  /** true: only non-terminal sessions; false: only terminal ones; undefined: all. */
  active?: boolean | undefined;
}

export type InboundKind = "NOTIFICATION" | "CDR";

/**
 * What became of a stored message: applied to its session; waiting for its session (it may come
 * before the start answer names it); a duplicate of an earlier one; a CDR that differs from the
 * session's first one (conflict); one that names our session but does not fit it (mismatch);
 * unreadable (rejected). Only "received" is in between, while the message is being handled.
 */
export type InboundState = "received" | "applied" | "waiting" | "duplicate" | "conflict" | "mismatch" | "rejected";
export type InboundSource = "push" | "backfill";

/** One message Hubject sent us, stored whatever reading makes of it, before it is acknowledged. */
export interface InboundMessage {
  kind: InboundKind;
  source: InboundSource;
  /** The body exactly as received. It holds EvcoIDs: it stays in the store, never in logs. */
  text: string;
  /** The calling CPO's OperatorID from the path (CDRs), when there is one. */
  operatorId: string | null;
  receivedAt: Date;
  /** What reading found; null when the message could not be read. */
  type: string | null;
  hubjectSessionId: string | null;
  empPartnerSessionId: string | null;
  evseId: string | null;
  evcoId: string | null;
  /** Unique among stored messages (null for copies and unreadable ones): docs/oicp.md#duplicates. */
  dedupeKey: string | null;
  contentHash: string | null;
  state: InboundState;
  /** Why it was rejected or flagged, for the operator. */
  problem: string | null;
  anomalies: FigureAnomaly[];
  /** A duplicate or conflicting copy: the message it repeats. */
  duplicateOf: number | null;
}

export interface StoredInboundMessage extends InboundMessage {
  seq: number;
  /** The gateway session this message was applied to (or flagged against). */
  sessionId: string | null;
}

/** What handling a stored message decided. */
export interface InboundUpdate {
  state: InboundState;
  sessionId?: string | null;
  problem?: string | null;
  anomalies?: FigureAnomaly[];
  /** Frees the dedupe key (a misfit must not keep the genuine message for its session out). */
  releaseDedupeKey?: boolean;
}

/**
 * The store could not be reached (a lost connection, a failover, a database that refuses
 * connections, SQLite busy for too long). Retryable: nothing was written, or the write is
 * repeated safely (every write is conditional or keyed). Adapters translate their driver's
 * errors into this; the app side answers "try again" (503 / OICP 021) instead of an internal error.
 */
export class StoreUnavailableError extends Error {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

export interface IdempotencyRecord {
  sessionId: string;
  /** "startCharging" or "stopCharging": a key stands for one request. */
  operation: string;
  /** The first call's answer, once it came: its error, or null for none. */
  settled: { error: ChargingErrorInfo | null } | null;
}

export interface SessionStore {
  /** Runs pending migrations. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  insert(session: NewSession): Promise<ChargingSession>;
  /**
   * Inserts unless a unique rule forbids it, and then returns null: a second REQUESTED session
   * of the same driver at the same EVSE, or a second session for one Hubject SessionID.
   * These rules hold across processes because the database enforces them.
   */
  tryInsert(session: NewSession): Promise<ChargingSession | null>;
  /** The driver's session at this EVSE whose remote start is still in flight (status REQUESTED). */
  findRequested(driverId: string, evseId: string): Promise<ChargingSession | undefined>;
  /** Sessions changed at or after `since`, oldest change first (catching subscribers up after a fan-out outage). */
  changedSince(since: Date, limit: number): Promise<ChargingSession[]>;
  /** One driver's sessions changed at or after `since`, oldest change first (a subscriber resuming). */
  changedForDriver(driverId: string, since: Date, limit: number): Promise<ChargingSession[]>;
  /** Sessions for the background jobs (reconciler, staleness), oldest first. */
  scan(query: SessionScan): Promise<ChargingSession[]>;
  get(id: string): Promise<ChargingSession | undefined>;
  getMany(ids: readonly string[]): Promise<ChargingSession[]>;
  findByHubjectSessionId(hubjectSessionId: string): Promise<ChargingSession | undefined>;
  /** Newest session of that EVSE and contract requested at or after `since` that has no Hubject SessionID yet. */
  findAwaitingAnswer(evseId: string, evcoId: string, since: Date): Promise<ChargingSession | undefined>;
  listForDriver(query: SessionPageQuery): Promise<{ sessions: ChargingSession[]; hasNextPage: boolean }>;
  /**
   * Writes `next` only if the stored version is still `next.version - 1`
   * (a conditional update, safe across processes). Returns false when someone else won.
   */
  replace(next: ChargingSession): Promise<boolean>;

  /**
   * Stores an inbound message. When another stored message already holds its dedupe key, stores
   * nothing and returns that message instead (the caller stores the copy without the key).
   */
  recordInbound(message: InboundMessage): Promise<{ seq: number } | { holder: StoredInboundMessage }>;
  updateInbound(seq: number, update: InboundUpdate): Promise<void>;
  inbound(seq: number): Promise<StoredInboundMessage | undefined>;
  /** Messages in a state, oldest first (for the operator: rejected, conflict, mismatch). */
  inboundInState(state: InboundState, limit: number): Promise<StoredInboundMessage[]>;
  /** Messages with this Hubject SessionID waiting for their session, oldest first. */
  waitingInbound(hubjectSessionId: string): Promise<StoredInboundMessage[]>;
  /**
   * Messages still waiting for a session, or stored but never handled (the process stopped in
   * between), received in [receivedAfter, receivedBefore), oldest first.
   */
  waitingInboundBetween(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<StoredInboundMessage[]>;
  /** The first stored message of this kind with this content hash, if any (seq). */
  inboundWithContent(kind: InboundKind, contentHash: string): Promise<number | undefined>;
  /** Deletes messages received before `before` (retention); returns how many. */
  pruneInbound(before: Date): Promise<number>;

  /** Remembers which driver holds which contracts (from their tokens), for sessions started at the charger. */
  recordDriverContracts(driverId: string, evcoIds: readonly string[]): Promise<void>;
  driverForContract(evcoId: string): Promise<string | undefined>;

  /** Idempotency: the session a driver's key already produced, or claims the key for `sessionId`. */
  claimIdempotencyKey(
    driverId: string,
    key: string,
    operation: string,
    sessionId: string,
  ): Promise<{ claimed: boolean; sessionId: string }>;
  /** What a driver's idempotency key stands for, if it was claimed. */
  idempotencyKey(driverId: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** The answer of the key's first call: a repeat of the key answers with the same error (or none). */
  settleIdempotencyKey(driverId: string, key: string, error: ChargingErrorInfo | null): Promise<void>;
  /** Points a claimed key at another session (its first call joined a start already in flight). */
  retargetIdempotencyKey(driverId: string, key: string, sessionId: string): Promise<void>;
}
