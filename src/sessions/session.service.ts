// The use cases: start, stop, read, and apply what Hubject tells us. Resolvers, the inbound
// OICP listener and the background jobs call these; all state rules live in session-state.ts,
// all code-to-error mapping in oicp/status-codes.ts.
import { randomUUID } from "node:crypto";
import { badInput, forbidden } from "../errors.js";
import type { Logger } from "../logger.js";
import { redactEvcoId } from "../logger.js";
import { type ParsedInbound, reparseStored } from "../oicp/inbound/parse.js";
import { isEvcoId, isEvseId, PRODUCT_ID_MAX, sameEvcoId, sameEvseId } from "../oicp/wire/identifiers.js";
import { type ChargingErrorInfo, chargingErrorForOicpCode, GATEWAY_ERRORS, TRANSPORT_ERRORS } from "../oicp/wire/status-codes.js";
import { type MutationLimits, NO_LIMITS, type RemoteCallOutcome, type SessionEvents } from "./ports.js";
import { type ChargingSession, isActive, type SessionEvent, type StatusCode } from "./session.js";
import type { SessionPageQuery, SessionStore, StoredInboundMessage } from "./session.store.js";
import { applySessionEvent } from "./session-state.js";

/** The authenticated caller: `sub` and the contracts (EvcoIDs) the token grants. */
export interface Driver {
  id: string;
  evcoIds: readonly string[];
}

/** The part of the Hubject datasource the use cases need. */
export interface RemoteCharging {
  authorizeRemoteStart(req: {
    evseId: string;
    evcoId: string;
    empPartnerSessionId: string;
    partnerProductId?: string | null;
  }): Promise<RemoteCallOutcome>;
  authorizeRemoteStop(req: {
    hubjectSessionId: string;
    evseId: string;
    empPartnerSessionId?: string | null;
    cpoPartnerSessionId?: string | null;
  }): Promise<RemoteCallOutcome>;
}

export interface ChargingResult {
  session: ChargingSession | null;
  error: ChargingErrorInfo | null;
}

export interface StartChargingInput {
  evseId: string;
  evcoId?: string | null | undefined;
  partnerProductId?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}

export interface StopChargingInput {
  sessionId: string;
  idempotencyKey?: string | null | undefined;
}

export interface InboundOutcome {
  duplicate: boolean;
  /** The session it was applied to; null while it waits for its session. */
  session: ChargingSession | null;
}

/** What the use cases report to metrics (GatewayMetrics implements it). */
export interface SessionMetrics {
  /** "ACCEPTED" or the ChargingError code the driver saw. */
  remoteStart(outcome: string): void;
  /** An app-started session reached CHARGING this long after it was requested. */
  reachedCharging(seconds: number): void;
  /** A message from Hubject: stored or duplicate, and how late it came after the event at the charger. */
  inbound(type: string, result: "stored" | "duplicate", lagSeconds: number | null): void;
}

export interface SessionServiceOptions {
  store: SessionStore;
  hubject: RemoteCharging;
  events: SessionEvents;
  logger: Logger;
  /** Window for the EvseID + EvcoID fallback match (docs/oicp.md#session-flow). */
  matchWindowMs: number;
  /** How long a mutation waits for Hubject before answering with the session as it stands. */
  mutationWaitMs: number;
  /** How long a joined call may wait for a start that runs elsewhere (above the remote timeout). */
  joinTimeoutMs: number;
  /** Per-driver and EMP-wide rate limits; none by default. */
  limits?: MutationLimits;
  metrics?: SessionMetrics;
}

const IDEMPOTENCY_KEY_MAX = 200;
const MAX_TRANSITION_ATTEMPTS = 20;
const JOIN_POLL_MS = 100;

export class SessionService {
  /** Upstream calls of this process still running, by session id: mutations join them. */
  private readonly settling = new Map<string, Promise<ChargingResult>>();
  /** Drivers whose contracts were recorded recently (at most one write per driver and hour). */
  private readonly contractsSeen = new Map<string, number>();

  private readonly limits: MutationLimits;

  constructor(private readonly deps: SessionServiceOptions) {
    this.limits = deps.limits ?? NO_LIMITS;
  }

  // ---- driver use cases --------------------------------------------------------------------

  /**
   * Starts charging. Answers within `mutationWaitMs`: with Hubject's outcome if it came, else with
   * the session still REQUESTED while the call goes on; its outcome then lands on sessionUpdated.
   */
  async startCharging(driver: Driver, input: StartChargingInput): Promise<ChargingResult> {
    await this.limits.driverMutation(driver.id);
    const evseId = input.evseId.trim();
    if (!isEvseId(evseId)) throw badInput(`"${evseId}" is not a valid EVSE ID (for example DE*ABC*E1234*1).`, "evseId");
    const evcoId = this.contractFor(driver, input.evcoId);
    const partnerProductId = input.partnerProductId?.trim() || null;
    if (partnerProductId && partnerProductId.length > PRODUCT_ID_MAX) {
      throw badInput(`partnerProductId must be at most ${PRODUCT_ID_MAX} characters.`, "partnerProductId");
    }
    const key = this.checkedKey(input.idempotencyKey);
    const id = randomUUID();

    if (key) {
      const claim = await this.deps.store.claimIdempotencyKey(driver.id, key, "startCharging", id);
      if (!claim.claimed) return this.replayKey(driver, key, claim.sessionId);
    }
    // Only a start that will reach Hubject counts against the EMP's budget (not replays or joins).
    if (!(await this.deps.store.findRequested(driver.id, evseId))) await this.limits.remoteStart();
    const session = await this.insertOrJoin(driver, key, { id, evseId, evcoId, partnerProductId });
    if ("joined" in session) return session.joined;
    this.deps.events.publish(session);
    // Never retried automatically: a second remote start opens a second session (docs/oicp.md#lost-answer).
    const settle = this.track(session.id, async () => {
      const outcome = await this.deps.hubject.authorizeRemoteStart({ evseId, evcoId, empPartnerSessionId: id, partnerProductId });
      return this.settleStart(session, outcome);
    });
    return this.respond(session.id, settle);
  }

  async stopCharging(driver: Driver, input: StopChargingInput): Promise<ChargingResult> {
    await this.limits.driverMutation(driver.id);
    const session = await this.ownSession(driver, input.sessionId, "stop");
    const key = this.checkedKey(input.idempotencyKey);
    if (key) {
      const claim = await this.deps.store.claimIdempotencyKey(driver.id, key, "stopCharging", session.id);
      if (!claim.claimed) return this.replayKey(driver, key, claim.sessionId);
    }
    const running = this.settling.get(session.id);
    if (running && session.status === "STOP_REQUESTED") return this.respond(session.id, running);
    if (session.status === "STOP_REQUESTED" || session.status === "CHARGING_ENDED") {
      return { session, error: null }; // already stopping or stopped: no second upstream call
    }
    if (!isActive(session.status)) return { session, error: GATEWAY_ERRORS.sessionNotActive() };
    if (!session.hubjectSessionId) return { session, error: GATEWAY_ERRORS.sessionStarting() };

    const requested = await this.apply(session.id, { type: "STOP_REQUESTED", at: new Date() });
    if (requested?.status !== "STOP_REQUESTED" || requested.version === session.version) {
      return { session: requested ?? session, error: null }; // someone else is stopping it
    }
    const hubjectSessionId = session.hubjectSessionId;
    const settle = this.track(session.id, async () => {
      const outcome = await this.deps.hubject.authorizeRemoteStop({
        hubjectSessionId,
        evseId: session.evseId,
        empPartnerSessionId: session.id,
        cpoPartnerSessionId: session.cpoPartnerSessionId,
      });
      return this.settleStop(requested, outcome);
    });
    return this.respond(session.id, settle);
  }

  /** A session of the caller's; another driver's session is FORBIDDEN. */
  async sessionForDriver(driver: Driver, id: string): Promise<ChargingSession | null> {
    const session = await this.deps.store.get(id);
    if (!session) return null;
    if (session.driverId !== driver.id) throw forbidden("This charging session belongs to another account.");
    return session;
  }

  async listForDriver(driver: Driver, query: Omit<SessionPageQuery, "driverId">) {
    return this.deps.store.listForDriver({ ...query, driverId: driver.id });
  }

  /** Checks that a session id the caller names is theirs (used by mutations and subscriptions). */
  async ownSession(driver: Driver, id: string, verb: string): Promise<ChargingSession> {
    const session = await this.sessionForDriver(driver, id);
    if (!session) throw badInput(`There is no charging session with id "${id}" to ${verb}.`, "sessionId");
    return session;
  }

  /**
   * Remembers which contracts a driver holds (from the token), so that sessions started at the
   * charger with one of them reach this driver (docs/oicp.md#charger-sessions). Cheap: once per driver and hour.
   */
  async rememberContracts(driver: Driver): Promise<void> {
    const now = Date.now();
    const last = this.contractsSeen.get(driver.id);
    if (driver.evcoIds.length === 0 || (last !== undefined && now - last < 3_600_000)) return;
    this.contractsSeen.set(driver.id, now);
    await this.deps.store.recordDriverContracts(driver.id, driver.evcoIds);
  }

  // ---- what Hubject tells us -------------------------------------------------------------------

  /**
   * Stores a notification or CDR (before the caller acknowledges it), then applies it to its
   * session. A message whose session is not known yet stays stored and is applied when the
   * remote-start answer names its SessionID (docs/oicp.md#early-messages), or by the recovery sweep.
   * Duplicates change nothing (§6.6).
   */
  async receive(parsed: ParsedInbound): Promise<InboundOutcome> {
    const { stored, seq } = await this.deps.store.recordInbound(parsed.message);
    this.deps.metrics?.inbound(parsed.message.type, stored ? "stored" : "duplicate", lagOf(parsed));
    if (!stored || seq === null) return { duplicate: true, session: null };
    const session = await this.applyInbound(parsed, seq);
    if (!session) {
      this.deps.logger.info(
        { hubjectSessionId: parsed.ids.hubjectSessionId, type: parsed.message.type, evseId: parsed.ids.evseId },
        "inbound message for a session not known yet: kept until its session appears",
      );
    }
    return { duplicate: false, session };
  }

  /**
   * Applies stored messages that still wait for their session (after a restart, or a driver seen
   * later). Only a recent window is looked at, so that messages no one can claim (an RFID card
   * of no known driver) do not crowd out newer ones; they stay stored for operators.
   */
  async applyWaitingMessages(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<number> {
    let applied = 0;
    for (const message of await this.deps.store.unattachedInboundBetween(receivedAfter, receivedBefore, limit)) {
      const parsed = reparseStored(message);
      if (parsed.ok && (await this.applyInbound(parsed.value, message.seq))) applied++;
    }
    return applied;
  }

  // ---- what the background jobs find --------------------------------------------------------

  /** Whether this process is still waiting for Hubject's answer for the session. */
  isSettling(sessionId: string): boolean {
    return this.settling.has(sessionId);
  }

  /** A start whose answer was lost (the process stopped while waiting): the outcome is unknown. */
  async markOutcomeLost(sessionId: string): Promise<ChargingSession | undefined> {
    return this.apply(sessionId, { type: "START_OUTCOME_UNKNOWN", at: new Date(), hubjectSessionId: null, statusCode: null });
  }

  async observeEvse(sessionId: string, occupied: boolean, giveUp: boolean): Promise<ChargingSession | undefined> {
    return this.apply(sessionId, { type: "EVSE_OBSERVED", at: new Date(), occupied, giveUp });
  }

  /** Pushes the session again, unchanged, e.g. when it just turned stale. */
  announce(session: ChargingSession): void {
    // Same version as subscribers already have: only an explicit re-announcement passes their filter.
    this.deps.events.publish(session, { reannounce: true });
  }

  /** Resolves when every upstream call this process started has settled (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.settling.size > 0) await Promise.allSettled([...this.settling.values()]);
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * Inserts the REQUESTED session, unless a start of this driver at this EVSE is in flight (here
   * or on another replica): then joins it rather than reaching Hubject twice (a second remote
   * start opens a second session, docs/oicp.md#lost-answer). The database's unique index decides.
   */
  private async insertOrJoin(
    driver: Driver,
    key: string | null,
    fields: { id: string; evseId: string; evcoId: string; partnerProductId: string | null },
  ): Promise<ChargingSession | { joined: Promise<ChargingResult> }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const session = await this.deps.store.tryInsert({ ...fields, driverId: driver.id, status: "REQUESTED", requestedAt: new Date() });
      if (session) return session;
      const running = await this.deps.store.findRequested(driver.id, fields.evseId);
      if (!running) continue; // it settled in between: try again
      if (key) await this.deps.store.retargetIdempotencyKey(driver.id, key, running.id);
      return { joined: this.respond(running.id, this.join(running.id)) };
    }
    throw new Error(`start at ${fields.evseId}: a start of the same driver kept appearing and settling`);
  }

  /** Runs an upstream call and its settlement in the background, findable by session id. */
  private track(sessionId: string, work: () => Promise<ChargingResult>): Promise<ChargingResult> {
    const running = work()
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error, sessionId }, "settling an upstream call failed");
        throw error;
      })
      .finally(() => {
        if (this.settling.get(sessionId) === running) this.settling.delete(sessionId);
      });
    this.settling.set(sessionId, running);
    return running;
  }

  /** The outcome if it comes within mutationWaitMs, else the session as it stands now. */
  private async respond(sessionId: string, outcome: Promise<ChargingResult>): Promise<ChargingResult> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.deps.mutationWaitMs);
    });
    try {
      const first = await Promise.race([outcome, waited]);
      if (first) return first;
      outcome.catch(() => undefined); // logged by track(); the caller has its answer already
      return { session: (await this.deps.store.get(sessionId)) ?? null, error: null };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The result of a call that runs in this process, or (another replica) once the store shows it settled. */
  private async join(sessionId: string): Promise<ChargingResult> {
    const here = this.settling.get(sessionId);
    if (here) return here;
    const deadline = Date.now() + this.deps.joinTimeoutMs;
    for (;;) {
      const session = await this.deps.store.get(sessionId);
      if (session?.status !== "REQUESTED" || Date.now() > deadline) return resultOf(session ?? null);
      await sleep(JOIN_POLL_MS);
    }
  }

  /** A repeated idempotency key: the first call's result, joined while it runs. */
  private async replayKey(driver: Driver, key: string, sessionId: string): Promise<ChargingResult> {
    // The first call may still be inserting its session, or may have joined another one and
    // re-pointed the key: read the key again until its session exists.
    for (let i = 0; i < 50; i++) {
      const session = await this.deps.store.get(sessionId);
      if (session) {
        if (session.driverId !== driver.id) throw forbidden("This idempotency key belongs to another request.");
        return this.respond(session.id, this.settling.get(session.id) ?? this.join(session.id));
      }
      await sleep(JOIN_POLL_MS);
      sessionId = (await this.deps.store.idempotencySession(driver.id, key)) ?? sessionId;
    }
    return { session: null, error: TRANSPORT_ERRORS.outcomeUnknown() };
  }

  private async settleStart(session: ChargingSession, outcome: RemoteCallOutcome): Promise<ChargingResult> {
    const at = new Date();
    let event: SessionEvent;
    let error: ChargingErrorInfo | null = null;
    switch (outcome.kind) {
      case "answered": {
        const statusCode = toStatusCode(outcome.status);
        if (outcome.result) {
          event = {
            type: "START_ACCEPTED",
            at,
            hubjectSessionId: outcome.hubjectSessionId,
            cpoPartnerSessionId: outcome.cpoPartnerSessionId,
            statusCode,
          };
        } else {
          error = chargingErrorForOicpCode(statusCode.code);
          event = error.outcomeUnknown
            ? { type: "START_OUTCOME_UNKNOWN", at, hubjectSessionId: outcome.hubjectSessionId, statusCode }
            : { type: "START_REJECTED", at, statusCode };
        }
        break;
      }
      case "unknown":
        error = TRANSPORT_ERRORS.outcomeUnknown();
        event = { type: "START_OUTCOME_UNKNOWN", at, hubjectSessionId: null, statusCode: null };
        break;
      case "failed":
        error = this.transportFailure(outcome);
        event = { type: "START_REJECTED", at, statusCode: toStatusCode(outcome.status) };
        break;
    }
    this.logOutcome("AuthorizeRemoteStart", session, outcome, error);
    this.deps.metrics?.remoteStart(error?.code ?? "ACCEPTED");
    let settled = (await this.apply(session.id, event)) ?? session;
    if (settled.hubjectSessionId) settled = (await this.applyMessagesFor(settled)) ?? settled;
    return { session: settled, error };
  }

  private async settleStop(session: ChargingSession, outcome: RemoteCallOutcome): Promise<ChargingResult> {
    const at = new Date();
    let event: SessionEvent | null = null;
    let error: ChargingErrorInfo | null = null;
    if (outcome.kind === "answered") {
      const statusCode = toStatusCode(outcome.status);
      // 400 on stop usually means "already ended" (docs/oicp.md#stop-after-end): the CDR will settle it.
      if (outcome.result || statusCode.code === "400") {
        event = { type: "STOP_ACCEPTED", at, statusCode };
      } else {
        error = chargingErrorForOicpCode(statusCode.code);
        event = error.outcomeUnknown ? { type: "STOP_ACCEPTED", at, statusCode } : { type: "STOP_REJECTED", at, statusCode };
      }
    } else if (outcome.kind === "unknown") {
      // The charger may still stop: stay in STOP_REQUESTED; End or the CDR settles it.
      error = TRANSPORT_ERRORS.outcomeUnknown();
    } else {
      error = this.transportFailure(outcome);
      event = { type: "STOP_REJECTED", at, statusCode: toStatusCode(outcome.status) };
    }
    this.logOutcome("AuthorizeRemoteStop", session, outcome, error);
    const settled = event ? ((await this.apply(session.id, event)) ?? session) : session;
    return { session: settled, error };
  }

  private transportFailure(outcome: Extract<RemoteCallOutcome, { kind: "failed" }>): ChargingErrorInfo {
    return outcome.reason === "unreachable" || outcome.reason === "rate-limited" || outcome.reason === "circuit-open"
      ? TRANSPORT_ERRORS.unavailable()
      : TRANSPORT_ERRORS.configuration(outcome.status.code || null);
  }

  private logOutcome(operation: string, session: ChargingSession, outcome: RemoteCallOutcome, error: ChargingErrorInfo | null) {
    const fields = {
      operation,
      sessionId: session.id,
      evseId: session.evseId,
      evcoId: redactEvcoId(session.evcoId),
      outcome: outcome.kind,
      oicpStatusCode: outcome.kind === "unknown" ? null : outcome.status.code,
      processId: outcome.processId,
      ...(outcome.kind === "answered" ? {} : { detail: outcome.detail }),
    };
    if (error?.operatorAlert) {
      // The datasource reports the configuration fault loudly once; each affected call is a warning.
      this.deps.logger.warn(fields, `${operation} failed on configuration: check HUBJECT_PROVIDER_ID and the client certificate`);
    } else {
      this.deps.logger.info(fields, `${operation} ${error ? `ended with ${error.code}` : "accepted"}`);
    }
  }

  /** Finds (or, for a session started at the charger, creates) the message's session, applies the message, then marks it applied. */
  private async applyInbound(parsed: ParsedInbound, seq: number): Promise<ChargingSession | null> {
    const target = (await this.findSessionFor(parsed)) ?? (await this.sessionStartedAtCharger(parsed));
    if (!target) return null;
    // Apply first, attach second: a crash in between re-applies on recovery, which changes nothing.
    const session = (await this.apply(target.id, parsed.event)) ?? target;
    await this.deps.store.attachInbound([seq], target.id);
    if (target.origin === "CHARGER" && target.version === 1) return (await this.applyMessagesFor(session)) ?? session;
    return session;
  }

  /** Applies messages that arrived before the session knew its Hubject SessionID, oldest first. */
  private async applyMessagesFor(session: ChargingSession): Promise<ChargingSession | undefined> {
    const waiting: StoredInboundMessage[] = await this.deps.store.unattachedInbound(session.hubjectSessionId!);
    let latest: ChargingSession | undefined;
    for (const message of waiting) {
      const parsed = reparseStored(message);
      if (!parsed.ok || !sameEvseId(parsed.value.ids.evseId, session.evseId)) continue;
      latest = (await this.apply(session.id, parsed.value.event)) ?? latest;
      await this.deps.store.attachInbound([message.seq], session.id);
    }
    return latest;
  }

  /** SessionID first, then our own EMPPartnerSessionID, then EvseID + EvcoID within a time window (docs/oicp.md#session-flow). */
  private async findSessionFor(parsed: ParsedInbound): Promise<ChargingSession | undefined> {
    const { ids } = parsed;
    const byHubjectId = await this.deps.store.findByHubjectSessionId(ids.hubjectSessionId);
    if (byHubjectId) return byHubjectId;
    if (ids.empPartnerSessionId) {
      const own = await this.deps.store.get(ids.empPartnerSessionId);
      if (own && sameEvseId(own.evseId, ids.evseId) && !own.hubjectSessionId) return own;
    }
    if (ids.evcoId) {
      const since = new Date(parsed.message.receivedAt.getTime() - this.deps.matchWindowMs);
      return this.deps.store.findAwaitingAnswer(ids.evseId, ids.evcoId, since);
    }
    return undefined;
  }

  /**
   * A session the gateway did not start (RFID card or Plug&Charge at the charger) whose contract
   * one of our drivers holds: create it so that the driver's app shows it too (docs/oicp.md#charger-sessions).
   */
  private async sessionStartedAtCharger(parsed: ParsedInbound): Promise<ChargingSession | undefined> {
    const { ids, event } = parsed;
    if (!ids.evcoId) return undefined;
    const driverId = await this.deps.store.driverForContract(ids.evcoId);
    if (!driverId) return undefined;
    const sessionStart = event.type === "CDR_RECEIVED" ? event.cdr.sessionStart : "sessionStart" in event ? event.sessionStart : null;
    const created = await this.deps.store.tryInsert({
      id: randomUUID(),
      driverId,
      origin: "CHARGER",
      hubjectSessionId: ids.hubjectSessionId,
      evseId: ids.evseId,
      evcoId: ids.evcoId,
      partnerProductId: null,
      status: "ACCEPTED",
      requestedAt: sessionStart ?? parsed.message.receivedAt,
    });
    if (!created) return this.deps.store.findByHubjectSessionId(ids.hubjectSessionId); // a concurrent message created it
    this.deps.logger.info(
      { sessionId: created.id, hubjectSessionId: ids.hubjectSessionId, evseId: ids.evseId, evcoId: redactEvcoId(ids.evcoId) },
      "session started at the charger: created for the contract holder",
    );
    this.deps.events.publish(created);
    return created;
  }

  /** Applies one event through the state machine with a conditional write; publishes what changed. */
  private async apply(sessionId: string, event: SessionEvent): Promise<ChargingSession | undefined> {
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt++) {
      const current = await this.deps.store.get(sessionId);
      if (!current) return undefined;
      const next = applySessionEvent(current, event);
      if (!next) return current;
      if (await this.deps.store.replace(next)) {
        this.deps.events.publish(next);
        const firstCharging = current.status === "REQUESTED" || current.status === "OUTCOME_UNKNOWN" || current.status === "ACCEPTED";
        if (firstCharging && next.status === "CHARGING" && next.origin === "APP") {
          this.deps.metrics?.reachedCharging((next.updatedAt.getTime() - next.requestedAt.getTime()) / 1000);
        }
        return next;
      }
    }
    throw new Error(`session ${sessionId}: gave up applying ${event.type} after ${MAX_TRANSITION_ATTEMPTS} write conflicts`);
  }

  private contractFor(driver: Driver, requested: string | null | undefined): string {
    const evcoId = requested?.trim();
    if (evcoId) {
      if (!isEvcoId(evcoId)) throw badInput(`"${evcoId}" is not a valid contract ID (EvcoID).`, "evcoId");
      const held = driver.evcoIds.find((own) => sameEvcoId(own, evcoId));
      if (!held) throw forbidden("This contract is not one of yours. Choose one of your own contracts.");
      return held;
    }
    if (driver.evcoIds.length === 1) return driver.evcoIds[0]!;
    if (driver.evcoIds.length === 0) throw forbidden("Your account has no charging contract yet.");
    throw badInput("You hold several contracts: say which one to charge with (evcoId).", "evcoId");
  }

  private checkedKey(key: string | null | undefined): string | null {
    if (key === null || key === undefined) return null;
    if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX) {
      throw badInput(`idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_MAX} characters.`, "idempotencyKey");
    }
    return key;
  }
}

/** What a finished (or still running) call looks like from its stored session alone. */
function resultOf(session: ChargingSession | null): ChargingResult {
  if (!session) return { session: null, error: TRANSPORT_ERRORS.outcomeUnknown() };
  const code = session.lastStatusCode?.code;
  if (session.status === "REJECTED" && code) return { session, error: chargingErrorForOicpCode(code) };
  if (session.status === "OUTCOME_UNKNOWN")
    return { session, error: code ? chargingErrorForOicpCode(code) : TRANSPORT_ERRORS.outcomeUnknown() };
  return { session, error: null };
}

/** Seconds from the event at the charger to its arrival here, when the message says when it happened. */
function lagOf(parsed: ParsedInbound): number | null {
  const e = parsed.event;
  const at =
    e.type === "CHARGING_PROGRESS"
      ? e.eventOccurred
      : e.type === "CHARGING_STARTED"
        ? e.chargingStart
        : e.type === "CHARGING_ENDED"
          ? e.chargingEnd
          : e.type === "CDR_RECEIVED"
            ? e.cdr.sessionEnd
            : null;
  return at ? Math.max(0, (parsed.message.receivedAt.getTime() - at.getTime()) / 1000) : null;
}

function toStatusCode(status: { code: string; description: string | null; additionalInfo: string | null }): StatusCode {
  return { code: status.code, description: status.description, additionalInfo: status.additionalInfo };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
