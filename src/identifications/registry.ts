// The identifications registry's use cases: register (one or many, idempotent), block and
// unblock, list, and find a credential for an authorization. Every change goes through here:
// it is written, then every replica is told (RegistryChanges) and drops what it cached.
import { createHash, randomUUID } from "node:crypto";
import bcrypt from "bcryptjs";
import { LRUCache } from "lru-cache";
import type { Logger } from "../logger.js";
import type { Clock } from "../sessions/ports.js";
import {
  type BlockedBy,
  checkIdentificationInput,
  credentialKey,
  credentialKeyOf,
  type Identification,
  type IdentificationInput,
  type IdentificationStatus,
  maskUid,
  uidKey,
} from "./identification.js";
import { IdentificationLookupCache } from "./lookup-cache.js";
import type { IdentificationPageQuery, IdentificationRecord, IdentificationStore, RegistryChanges } from "./ports.js";

export interface RegistryDeps {
  store: IdentificationStore;
  changes: RegistryChanges;
  clock: Clock;
  logger: Logger;
  /** Bcrypt cost of PIN hashes made here. */
  pinHashCost: number;
  cache: { maxEntries: number; ttlMs: number };
}

/** What became of one registration. */
export type RegistrationOutcome =
  | { ok: true; change: "created" | "updated" | "unchanged"; identification: Identification }
  | { ok: false; problems: string[] };

export class RegistryError extends Error {
  constructor(
    readonly reason: "NOT_FOUND" | "FORBIDDEN" | "CONFLICT",
    message: string,
  ) {
    super(message);
    this.name = "RegistryError";
  }
}

/** Successful PIN checks remembered (by identification version and a hash of the PIN), so a repeated scan costs no Bcrypt round. */
const VERIFIED_PINS_MAX = 10_000;

export class IdentificationRegistry {
  private readonly cache: IdentificationLookupCache;
  private readonly verifiedPins = new LRUCache<string, true>({ max: VERIFIED_PINS_MAX, ttl: 10 * 60_000 });

  constructor(private readonly deps: RegistryDeps) {
    this.cache = new IdentificationLookupCache(deps.changes, deps.cache);
  }

  /**
   * Registers identifications; each input gets its outcome, in order. Inputs with problems are
   * refused alone; the others are written in one transaction (all or none). Registering what is
   * already registered changes nothing. A registration never unblocks: without an explicit
   * status the stored one is kept. A credential of another driver is a problem, never taken over.
   */
  async register(inputs: readonly IdentificationInput[]): Promise<RegistrationOutcome[]> {
    const outcomes: Array<RegistrationOutcome | null> = inputs.map(() => null);
    const keys = inputs.map((input) => {
      const problems = checkIdentificationInput(input);
      if (problems.length > 0) outcomes[inputs.indexOf(input)] = { ok: false, problems };
      return problems.length > 0 ? null : credentialKey(input.type, normalised(input));
    });
    const wanted = keys.filter((k): k is string => k !== null);
    const existing = new Map((await this.deps.store.identificationsByCredential(wanted)).map((i) => [credentialKeyOf(i), i]));
    const seen = new Map<string, number>();
    const toSave: Array<{ index: number; record: IdentificationRecord; change: "created" | "updated" }> = [];
    for (const [index, input] of inputs.entries()) {
      const key = keys[index];
      if (key === null || key === undefined || outcomes[index]) continue;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        outcomes[index] = { ok: false, problems: [`uid/evco_id: the same credential as row ${earlier + 1} of this batch`] };
        continue;
      }
      seen.set(key, index);
      const stored = existing.get(key);
      if (stored && stored.driverId !== input.driverId.trim()) {
        outcomes[index] = { ok: false, problems: ["uid/evco_id: already registered to another driver"] };
        continue;
      }
      const record = await this.recordFor(input, stored);
      if (stored && (await this.unchanged(stored, record, input))) {
        outcomes[index] = { ok: true, change: "unchanged", identification: stored };
        continue;
      }
      toSave.push({ index, record, change: stored ? "updated" : "created" });
    }
    if (toSave.length > 0) {
      const saved = await this.deps.store.saveIdentifications(
        toSave.map((s) => s.record),
        this.deps.clock.now(),
      );
      for (const [i, item] of toSave.entries()) outcomes[item.index] = { ok: true, change: item.change, identification: saved[i]! };
      this.changed(saved);
      this.deps.logger.info(
        { created: toSave.filter((s) => s.change === "created").length, updated: toSave.filter((s) => s.change === "updated").length },
        "identifications registered",
      );
    }
    return outcomes.map((o) => o ?? { ok: false, problems: ["not processed"] });
  }

  /**
   * Blocks an identification. A driver may block only their own (a lost card), an operator any.
   * Effective at once on every replica: the next authorization with it is refused.
   */
  async block(id: string, by: { driverId: string; role: BlockedBy }): Promise<Identification> {
    return this.setStatus(id, "BLOCKED", by);
  }

  /** Sets a status (operators; a driver only blocks). ACTIVE clears who blocked it. */
  async setStatus(id: string, status: IdentificationStatus, by: { driverId: string; role: BlockedBy }): Promise<Identification> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.deps.store.identification(id);
      if (!current || (by.role === "DRIVER" && current.driverId !== by.driverId)) {
        // A driver learns nothing about other drivers' identifications, not even that they exist.
        throw new RegistryError("NOT_FOUND", "No such identification.");
      }
      if (by.role === "DRIVER" && status !== "BLOCKED") throw new RegistryError("FORBIDDEN", "Only your EMP can unblock a card.");
      if (current.status === status) return current;
      const next = await this.deps.store.setIdentificationStatus(
        id,
        { status, blockedBy: status === "BLOCKED" ? by.role : null, expectedVersion: current.version },
        this.deps.clock.now(),
      );
      if (next) {
        this.changed([next]);
        this.deps.logger.info(
          { identificationId: id, type: next.type, uid: maskUid(next.uid), status, by: by.role },
          "identification status changed",
        );
        return next;
      }
    }
    throw new RegistryError("CONFLICT", "The identification is being changed elsewhere. Try again.");
  }

  identification(id: string): Promise<Identification | undefined> {
    return this.deps.store.identification(id);
  }

  list(query: IdentificationPageQuery): Promise<{ identifications: Identification[]; hasNextPage: boolean }> {
    return this.deps.store.listIdentifications(query);
  }

  /** An identification by credential key, through this replica's cache (authorizations). */
  find(key: string): Promise<Identification | null> {
    return this.cache.get(key, (k) => this.deps.store.identificationByCredential(k));
  }

  /**
   * Who holds a card (by UID) or a contract presented at a charger, whatever its status now: a
   * session Hubject authorized from pushed data happened, and its driver must see it and its bill.
   */
  async holderOf(presented: {
    uid: string | null;
    evcoId: string | null;
  }): Promise<{ driverId: string; evcoId: string; identificationId: string } | undefined> {
    const keys = [
      presented.uid ? credentialKey("RFID", { uid: presented.uid }) : null,
      presented.evcoId ? credentialKey("PLUG_AND_CHARGE", { evcoId: presented.evcoId }) : null,
      presented.evcoId ? credentialKey("QR_CODE", { evcoId: presented.evcoId }) : null,
    ];
    for (const key of keys) {
      const found = key ? await this.find(key) : null;
      if (found) return { driverId: found.driverId, evcoId: found.evcoId, identificationId: found.id };
    }
    return undefined;
  }

  /** Checks a PIN presented at a charger against the stored Bcrypt hash; the PIN is never kept or logged. */
  async verifyPin(identification: Identification, pin: string): Promise<boolean> {
    if (!identification.pinHash) return false;
    const memo = `${identification.id}:${identification.version}:${sha256(pin)}`;
    if (this.verifiedPins.has(memo)) return true;
    const ok = await bcrypt.compare(pin, identification.pinHash);
    if (ok) this.verifiedPins.set(memo, true);
    return ok;
  }

  close(): void {
    this.cache.close();
  }

  private changed(identifications: readonly Identification[]): void {
    const keys = identifications.map(credentialKeyOf);
    this.cache.invalidate(keys);
    this.deps.changes.publish(keys);
  }

  private async recordFor(input: IdentificationInput, stored: Identification | undefined): Promise<IdentificationRecord> {
    const n = normalised(input);
    let pinHash: string | null = null;
    if (input.type === "QR_CODE") {
      if (input.pinHash) pinHash = input.pinHash;
      else if (stored?.pinHash && input.pin && (await bcrypt.compare(input.pin, stored.pinHash))) pinHash = stored.pinHash;
      else if (input.pin) pinHash = await bcrypt.hash(input.pin, this.deps.pinHashCost);
    }
    const status = input.status ?? stored?.status ?? "ACTIVE";
    return {
      id: stored?.id ?? randomUUID(),
      driverId: input.driverId.trim(),
      evcoId: n.evcoId,
      type: input.type,
      uid: n.uid,
      rfidType: input.type === "RFID" ? (input.rfidType ?? null) : null,
      printedNumber: input.printedNumber ?? null,
      expiresAt: input.expiresAt ?? null,
      pinHash,
      status,
      blockedBy: status === "BLOCKED" ? (input.status ? "OPERATOR" : (stored?.blockedBy ?? "OPERATOR")) : null,
    };
  }

  private async unchanged(stored: Identification, record: IdentificationRecord, _input: IdentificationInput): Promise<boolean> {
    return (
      stored.driverId === record.driverId &&
      stored.evcoId === record.evcoId &&
      stored.type === record.type &&
      stored.uid === record.uid &&
      stored.rfidType === record.rfidType &&
      stored.printedNumber === record.printedNumber &&
      (stored.expiresAt?.getTime() ?? null) === (record.expiresAt?.getTime() ?? null) &&
      stored.pinHash === record.pinHash &&
      stored.status === record.status &&
      stored.blockedBy === record.blockedBy
    );
  }
}

function normalised(input: IdentificationInput): { uid: string | null; evcoId: string } {
  return { uid: input.uid ? uidKey(input.uid) : null, evcoId: input.evcoId.trim() };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
