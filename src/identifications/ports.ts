// The ports of the identifications registry: its store, and the message that tells every replica
// a registration changed. Implemented by store/sql/identifications.sql.ts and pubsub/broadcast.ts.
import type { BlockedBy, Identification, IdentificationStatus } from "./identification.js";

/** A registration as written: what the registry computed from an input (the PIN already hashed). */
export type IdentificationRecord = Omit<Identification, "createdAt" | "updatedAt" | "version">;

export interface IdentificationPageQuery {
  /** Only this driver's; undefined: everyone's (operators). */
  driverId?: string;
  /** 1..500 */
  first: number;
  /** The id of the last identification of the previous page (ids order the list). */
  after?: string;
}

/** What Hubject holds of an identification after a push (offline authorization), by its push hash. */
export interface PushState {
  /** The hash of the OICP record Hubject holds, or null when Hubject holds none. */
  pushedHash: string | null;
}

export interface IdentificationStore {
  /**
   * Writes registrations in one transaction: each is inserted, or replaces the registration with
   * the same credential key (a card is one card). All or nothing. Returns them as stored.
   */
  saveIdentifications(records: readonly IdentificationRecord[], now: Date): Promise<Identification[]>;
  identification(id: string): Promise<Identification | undefined>;
  /** By credential key (identification.ts credentialKey): how an authorization finds a card, a QR code or a car. */
  identificationByCredential(key: string): Promise<Identification | undefined>;
  identificationsByCredential(keys: readonly string[]): Promise<Identification[]>;
  listIdentifications(query: IdentificationPageQuery): Promise<{ identifications: Identification[]; hasNextPage: boolean }>;
  /**
   * Sets the status if the stored version is still `expectedVersion` (conditional, safe across
   * replicas). Returns the identification as stored, or null when someone else changed it first.
   */
  setIdentificationStatus(
    id: string,
    change: { status: IdentificationStatus; blockedBy: BlockedBy | null; expectedVersion: number },
    now: Date,
  ): Promise<Identification | null>;

  // ---- Offline authorization: what Hubject holds (eRoamingPushAuthenticationData) ----
  /** Identifications changed since they were last pushed (or never pushed), oldest change first. */
  pendingPush(limit: number): Promise<Array<Identification & PushState>>;
  /** Every identification with what Hubject holds of it, in id order, a page at a time (full load). */
  allForPush(after: string | null, limit: number): Promise<Array<Identification & PushState>>;
  /**
   * Records what Hubject now holds of each identification. Only for the version that was pushed:
   * a change since then stays pending.
   */
  markPushed(results: ReadonlyArray<{ id: string; version: number; pushedHash: string | null }>): Promise<void>;
  /** Marks every identification pending again (before a full load, or when Hubject's copy is in doubt). */
  markAllPending(): Promise<void>;
}

/**
 * Tells every replica that registrations changed, by credential key, so that each drops what it
 * cached of them. In-process: at once. Redis: one channel; while it is down, degraded() is true
 * and readers bypass their caches (a block must never wait for an outage to end).
 */
export interface RegistryChanges {
  publish(credentialKeys: readonly string[]): void;
  /** `keys` null: anything may have changed (after an outage), drop everything. */
  subscribe(listener: (keys: readonly string[] | null) => void): () => void;
  degraded(): boolean;
  close(): Promise<void>;
}
