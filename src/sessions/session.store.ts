// The session store port. The service depends on this interface only; the adapter
// (SQLite by default, PostgreSQL later) is chosen in one composition root.
import type { ChargingSession, SessionOrigin, SessionStatus } from "./session.js";

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

/** One message Hubject sent us, stored before it is acknowledged. */
export interface InboundMessage {
  kind: "NOTIFICATION" | "CDR";
  /** Notification Type (Start, Progress, End, Error) or "CDR". */
  type: string;
  hubjectSessionId: string;
  empPartnerSessionId: string | null;
  evseId: string;
  evcoId: string | null;
  /** (SessionID, Type, EventOccurred/ChargingStart/ChargingEnd) for notifications, SessionID for CDRs (docs/oicp.md#duplicates). */
  dedupeKey: string;
  body: Record<string, unknown>;
  receivedAt: Date;
}

export interface StoredInboundMessage extends InboundMessage {
  seq: number;
  /** The gateway session this message was applied to; null while it waits for its session (docs/oicp.md#early-messages). */
  sessionId: string | null;
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

  /** Stores an inbound message. Returns false (and stores nothing) when its dedupe key was seen before. */
  recordInbound(message: InboundMessage): Promise<{ stored: boolean; seq: number | null }>;
  /** Messages with this Hubject SessionID not yet attached to a session, oldest first. */
  unattachedInbound(hubjectSessionId: string): Promise<StoredInboundMessage[]>;
  attachInbound(seqs: readonly number[], sessionId: string): Promise<void>;
  /** Messages still waiting for a session, received in [receivedAfter, receivedBefore), oldest first. */
  unattachedInboundBetween(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<StoredInboundMessage[]>;

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
  /** The session a driver's idempotency key points at, if the key was claimed. */
  idempotencySession(driverId: string, key: string): Promise<string | undefined>;
  /** Points a claimed key at another session (its first call joined a start already in flight). */
  retargetIdempotencyKey(driverId: string, key: string, sessionId: string): Promise<void>;
}
