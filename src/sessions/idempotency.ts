// Idempotency keys of startCharging / stopCharging: a key stands for one request of one driver.
// The first call with a key does the work and its answer is kept with the key; every repeat
// answers the same (the session as it stands now, with the first call's error), joining the first
// call while it runs, here or on another replica. A key is only taken by a call that will act: a
// call refused before anything happened (rate limited, "still starting") leaves the key free, so
// that the app's retry with the same key does the work once it can.
import { badInput, forbidden } from "../errors.js";
import { type ChargingErrorInfo, TRANSPORT_ERRORS } from "../oicp/wire/status-codes.js";
import type { ChargingSession, Driver } from "./session.js";
import type { IdempotencyRecord, SessionStore } from "./session.store.js";

export const IDEMPOTENCY_KEY_MAX = 200;

export type IdempotentOperation = "startCharging" | "stopCharging";

export interface ChargingResult {
  session: ChargingSession | null;
  error: ChargingErrorInfo | null;
}

/** What a repeat needs from the commands: the call still running for a session, if any, and a way to wait for it. */
export interface Replaying {
  running(sessionId: string): Promise<ChargingResult> | undefined;
  respond(sessionId: string, outcome: Promise<ChargingResult>): Promise<ChargingResult>;
  sleep(ms: number): Promise<void>;
  /** How long a repeat may wait for a first call that runs on another replica. */
  joinTimeoutMs: number;
}

const FIND_SESSION_ATTEMPTS = 50;
const POLL_MS = 100;

export function checkedKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX) {
    throw badInput(`idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_MAX} characters.`, "idempotencyKey");
  }
  return key;
}

export class IdempotencyKeys {
  constructor(private readonly store: SessionStore) {}

  /** The key's earlier call, or null when the key is new. A key of another request is refused. */
  async earlier(driver: Driver, key: string, operation: IdempotentOperation): Promise<IdempotencyRecord | null> {
    const record = await this.store.idempotencyKey(driver.id, key);
    if (!record) return null;
    if (record.operation !== operation)
      throw badInput("This idempotencyKey was used for another request. Use a new key.", "idempotencyKey");
    return record;
  }

  /** Takes the key for this call; null when another call took it first (then its record). */
  async claim(driver: Driver, key: string, operation: IdempotentOperation, sessionId: string): Promise<IdempotencyRecord | null> {
    const claim = await this.store.claimIdempotencyKey(driver.id, key, operation, sessionId);
    if (claim.claimed) return null;
    return (await this.earlier(driver, key, operation)) ?? { sessionId: claim.sessionId, operation, settled: null };
  }

  /** Keeps the first call's answer with the key. */
  async settle(driver: Driver, key: string, result: ChargingResult): Promise<void> {
    await this.store.settleIdempotencyKey(driver.id, key, result.error);
  }

  /** Points the key at the start it joined. */
  retarget(driver: Driver, key: string, sessionId: string): Promise<void> {
    return this.store.retargetIdempotencyKey(driver.id, key, sessionId);
  }

  /** A repeat of the key: the first call's answer, joined while it runs. */
  async replay(driver: Driver, key: string, record: IdempotencyRecord, calls: Replaying): Promise<ChargingResult> {
    let current = record;
    // The first call may still be inserting its session, or may have joined another one and
    // re-pointed the key: read the key again until its session exists.
    for (let attempt = 0; attempt < FIND_SESSION_ATTEMPTS; attempt++) {
      const session = await this.store.get(current.sessionId);
      if (session) {
        if (session.driverId !== driver.id) throw forbidden("This idempotency key belongs to another request.");
        if (current.settled) return { session, error: current.settled.error };
        const running = calls.running(session.id);
        const outcome = running ?? this.joined(driver, key, session.id, calls);
        return calls.respond(session.id, outcome);
      }
      await calls.sleep(POLL_MS);
      current = (await this.store.idempotencyKey(driver.id, key)) ?? current;
    }
    return { session: null, error: TRANSPORT_ERRORS.outcomeUnknown() };
  }

  /** The first call runs elsewhere (or its process died): its kept answer once it settles, else the session as it stands. */
  private async joined(driver: Driver, key: string, sessionId: string, calls: Replaying): Promise<ChargingResult> {
    const deadline = Date.now() + calls.joinTimeoutMs;
    for (;;) {
      const record = await this.store.idempotencyKey(driver.id, key);
      const session = (await this.store.get(sessionId)) ?? null;
      if (record?.settled) return { session, error: record.settled.error };
      if (Date.now() > deadline) return { session, error: session?.status === "REQUESTED" ? TRANSPORT_ERRORS.outcomeUnknown() : null };
      await calls.sleep(POLL_MS);
    }
  }
}
