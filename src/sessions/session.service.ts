// The use cases: start, stop, read, and apply what Hubject tells us. Resolvers and the inbound
// OICP listener call these; all state rules live in session-state.ts, all code-to-error
// mapping in oicp/status-codes.ts.
import { randomUUID } from "node:crypto";
import type { RemoteCallOutcome } from "../datasources/hubject.datasource.js";
import { badInput, forbidden } from "../errors.js";
import type { Logger } from "../logger.js";
import { redactEvcoId } from "../logger.js";
import { isEvcoId, isEvseId, PRODUCT_ID_MAX, sameEvcoId, sameEvseId } from "../oicp/identifiers.js";
import { reparseStored, type ParsedInbound } from "../oicp/inbound.parse.js";
import {
  chargingErrorForOicpCode,
  GATEWAY_ERRORS,
  TRANSPORT_ERRORS,
  type ChargingErrorInfo,
} from "../oicp/status-codes.js";
import { isActive, type ChargingSession, type SessionEvent, type StatusCode } from "./session.js";
import { applySessionEvent } from "./session-state.js";
import type { SessionEvents } from "./session.events.js";
import type { SessionPageQuery, SessionStore } from "./session.store.js";

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

const IDEMPOTENCY_KEY_MAX = 200;
const MAX_TRANSITION_ATTEMPTS = 20;

export class SessionService {
  /** Same-process joins of concurrent calls with the same idempotency key. */
  private readonly inFlight = new Map<string, Promise<ChargingResult>>();

  constructor(
    private readonly deps: {
      store: SessionStore;
      hubject: RemoteCharging;
      events: SessionEvents;
      logger: Logger;
      /** Window for the EvseID + EvcoID fallback match (FACTS.md §6). */
      matchWindowMs: number;
    },
  ) {}

  // ---- driver use cases --------------------------------------------------------------------

  async startCharging(driver: Driver, input: StartChargingInput): Promise<ChargingResult> {
    const evseId = input.evseId.trim();
    if (!isEvseId(evseId)) throw badInput(`"${evseId}" is not a valid EVSE ID (for example DE*ABC*E1234*1).`, "evseId");
    const evcoId = this.contractFor(driver, input.evcoId);
    const partnerProductId = input.partnerProductId?.trim() || null;
    if (partnerProductId && partnerProductId.length > PRODUCT_ID_MAX) {
      throw badInput(`partnerProductId must be at most ${PRODUCT_ID_MAX} characters.`, "partnerProductId");
    }
    const key = this.checkedKey(input.idempotencyKey);
    const id = randomUUID();
    return this.once(driver, key, "startCharging", id, async () => {
      const session = await this.deps.store.insert({
        id,
        driverId: driver.id,
        evseId,
        evcoId,
        partnerProductId,
        status: "REQUESTED",
        requestedAt: new Date(),
      });
      this.deps.events.publish(session);
      // Never retried automatically: a second remote start opens a second session (FACTS.md §6.2).
      const outcome = await this.deps.hubject.authorizeRemoteStart({ evseId, evcoId, empPartnerSessionId: id, partnerProductId });
      return this.settleStart(session, outcome);
    });
  }

  async stopCharging(driver: Driver, input: StopChargingInput): Promise<ChargingResult> {
    const session = await this.ownSession(driver, input.sessionId, "stop");
    const key = this.checkedKey(input.idempotencyKey);
    return this.once(driver, key, "stopCharging", session.id, async () => {
      const current = (await this.deps.store.get(session.id)) ?? session;
      if (current.status === "STOP_REQUESTED" || current.status === "CHARGING_ENDED") {
        return { session: current, error: null }; // already stopping or stopped: no second upstream call
      }
      if (!isActive(current.status)) return { session: current, error: GATEWAY_ERRORS.sessionNotActive() };
      if (!current.hubjectSessionId) return { session: current, error: GATEWAY_ERRORS.sessionStarting() };

      const requested = await this.apply(current.id, { type: "STOP_REQUESTED", at: new Date() });
      if (!requested || requested.status !== "STOP_REQUESTED") return { session: requested ?? current, error: null };
      const outcome = await this.deps.hubject.authorizeRemoteStop({
        hubjectSessionId: current.hubjectSessionId,
        evseId: current.evseId,
        empPartnerSessionId: current.id,
        cpoPartnerSessionId: current.cpoPartnerSessionId,
      });
      return this.settleStop(requested, outcome);
    });
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

  // ---- what Hubject tells us -------------------------------------------------------------------

  /**
   * Stores a notification or CDR (before the caller acknowledges it), then applies it to its
   * session. A message whose session is not known yet stays stored and is applied when the
   * remote-start answer names its SessionID (FACTS.md §6.1). Duplicates change nothing (§6.6).
   */
  async receive(parsed: ParsedInbound): Promise<InboundOutcome> {
    const { stored, seq } = await this.deps.store.recordInbound(parsed.message);
    if (!stored || seq === null) return { duplicate: true, session: null };
    const target = await this.findSessionFor(parsed);
    if (!target) {
      this.deps.logger.info(
        { hubjectSessionId: parsed.ids.hubjectSessionId, type: parsed.message.type, evseId: parsed.ids.evseId },
        "inbound message for a session not known yet: kept until its session appears",
      );
      return { duplicate: false, session: null };
    }
    await this.deps.store.attachInbound([seq], target.id);
    const session = await this.apply(target.id, parsed.event);
    return { duplicate: false, session: session ?? target };
  }

  // ---- internals ---------------------------------------------------------------------------------

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
    let settled = (await this.apply(session.id, event)) ?? session;
    if (settled.hubjectSessionId) settled = (await this.applyWaitingMessages(settled)) ?? settled;
    return { session: settled, error };
  }

  private async settleStop(session: ChargingSession, outcome: RemoteCallOutcome): Promise<ChargingResult> {
    const at = new Date();
    let event: SessionEvent | null = null;
    let error: ChargingErrorInfo | null = null;
    if (outcome.kind === "answered") {
      const statusCode = toStatusCode(outcome.status);
      // 400 on stop usually means "already ended" (FACTS.md §6.11): the CDR will settle it.
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
    return outcome.reason === "unreachable" || outcome.reason === "rate-limited"
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
      this.deps.logger.error(fields, `${operation} failed on configuration: check HUBJECT_PROVIDER_ID and the client certificate`);
    } else {
      this.deps.logger.info(fields, `${operation} ${error ? `ended with ${error.code}` : "accepted"}`);
    }
  }

  /** Applies messages that arrived before the session knew its Hubject SessionID, oldest first. */
  private async applyWaitingMessages(session: ChargingSession): Promise<ChargingSession | undefined> {
    const waiting = await this.deps.store.unattachedInbound(session.hubjectSessionId!);
    let latest: ChargingSession | undefined;
    for (const message of waiting) {
      const parsed = reparseStored(message);
      if (!parsed.ok || !sameEvseId(parsed.value.ids.evseId, session.evseId)) continue;
      await this.deps.store.attachInbound([message.seq], session.id);
      latest = (await this.apply(session.id, parsed.value.event)) ?? latest;
    }
    return latest;
  }

  /** SessionID first, then our own EMPPartnerSessionID, then EvseID + EvcoID within a time window (FACTS.md §6). */
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

  /** Applies one event through the state machine with a conditional write; publishes what changed. */
  private async apply(sessionId: string, event: SessionEvent): Promise<ChargingSession | undefined> {
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt++) {
      const current = await this.deps.store.get(sessionId);
      if (!current) return undefined;
      const next = applySessionEvent(current, event);
      if (!next) return current;
      if (await this.deps.store.replace(next)) {
        this.deps.events.publish(next);
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

  /**
   * Runs `work` at most once per (driver, idempotency key). A repeat gets the first call's result:
   * joined in this process while it runs, or rebuilt from the stored session afterwards.
   */
  private async once(
    driver: Driver,
    key: string | null,
    operation: string,
    sessionId: string,
    work: () => Promise<ChargingResult>,
  ): Promise<ChargingResult> {
    if (!key) return work();
    const flightKey = `${driver.id}\u0000${key}`;
    const joined = this.inFlight.get(flightKey);
    if (joined) return joined;
    const claim = await this.deps.store.claimIdempotencyKey(driver.id, key, operation, sessionId);
    if (!claim.claimed) return this.replay(driver, claim.sessionId);
    const running = work().finally(() => this.inFlight.delete(flightKey));
    this.inFlight.set(flightKey, running);
    return running;
  }

  private async replay(driver: Driver, sessionId: string): Promise<ChargingResult> {
    // The first call may still be inserting its session (another process): wait briefly for it.
    for (let i = 0; i < 40; i++) {
      const session = await this.deps.store.get(sessionId);
      if (session) {
        if (session.driverId !== driver.id) throw forbidden("This idempotency key belongs to another request.");
        const code = session.lastStatusCode?.code;
        const error = session.status === "REJECTED" && code ? chargingErrorForOicpCode(code) : null;
        return { session, error };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { session: null, error: TRANSPORT_ERRORS.outcomeUnknown() };
  }
}

function toStatusCode(status: { code: string; description: string | null; additionalInfo: string | null }): StatusCode {
  return { code: status.code, description: status.description, additionalInfo: status.additionalInfo };
}
