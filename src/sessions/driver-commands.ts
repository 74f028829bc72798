// The driver's commands: start and stop charging. Each reaches Hubject at most once (never
// retried: docs/oicp.md#lost-answer), answers within mutationWaitMs with the outcome or the
// session as it stands, and settles in the background through the one write path.
import { randomUUID } from "node:crypto";
import { badInput, forbidden } from "../errors.js";
import { type Logger, redactEvcoId } from "../logger.js";
import { isEvcoId, isEvseId, PRODUCT_ID_MAX, sameEvcoId } from "../oicp/wire/identifiers.js";
import { type ChargingErrorInfo, chargingErrorForOicpCode, GATEWAY_ERRORS, TRANSPORT_ERRORS } from "../oicp/wire/status-codes.js";
import type { SessionEvidence } from "./evidence.js";
import { type ChargingResult, checkedKey, IdempotencyKeys, type Replaying } from "./idempotency.js";
import type { InboundMessages } from "./inbound-messages.js";
import type { MutationLimits, ProductOffers, RemoteCallOutcome, RemoteCharging, SessionMetrics } from "./ports.js";
import { type ChargingSession, type Driver, isActive, type SessionEvent } from "./session.js";
import type { SessionStore } from "./session.store.js";
import type { SessionReads } from "./session-reads.js";
import type { SessionWriter } from "./session-writer.js";

export type { ChargingResult } from "./idempotency.js";

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

export interface DriverCommandsDeps {
  store: SessionStore;
  hubject: RemoteCharging;
  writer: SessionWriter;
  reads: SessionReads;
  inbound: InboundMessages;
  evidence: SessionEvidence;
  limits: MutationLimits;
  logger: Logger;
  /** How long a mutation waits for Hubject before answering with the session as it stands. */
  mutationWaitMs: number;
  /** How long a joined call may wait for a start that runs elsewhere (above the remote timeout). */
  joinTimeoutMs: number;
  metrics?: SessionMetrics;
  /** The EVSE's products (src/pricing); none: every product is let through. */
  offers?: ProductOffers;
}

const JOIN_POLL_MS = 100;

export class DriverCommands {
  /** Upstream calls of this process still running, by session id: mutations join them. */
  private readonly settling = new Map<string, Promise<ChargingResult>>();
  private readonly keys: IdempotencyKeys;
  private readonly replaying: Replaying;

  constructor(private readonly deps: DriverCommandsDeps) {
    this.keys = new IdempotencyKeys(deps.store);
    this.replaying = {
      running: (sessionId) => this.settling.get(sessionId),
      respond: (sessionId, outcome) => this.respond(sessionId, outcome),
      sleep,
      joinTimeoutMs: deps.joinTimeoutMs,
    };
  }

  /**
   * Starts charging. Answers within `mutationWaitMs`: with Hubject's outcome if it came, else with
   * the session still REQUESTED while the call goes on; its outcome then lands on sessionUpdated.
   */
  async startCharging(driver: Driver, input: StartChargingInput): Promise<ChargingResult> {
    await this.deps.limits.driverMutation(driver.id);
    const evseId = input.evseId.trim();
    if (!isEvseId(evseId)) throw badInput(`"${evseId}" is not a valid EVSE ID (for example DE*ABC*E1234*1).`, "evseId");
    const evcoId = contractFor(driver, input.evcoId);
    const partnerProductId = input.partnerProductId?.trim() || null;
    if (partnerProductId && partnerProductId.length > PRODUCT_ID_MAX) {
      throw badInput(`partnerProductId must be at most ${PRODUCT_ID_MAX} characters.`, "partnerProductId");
    }
    if (partnerProductId && (await this.deps.offers?.isOffered(evseId, partnerProductId)) === "not-offered") {
      throw badInput(
        `The product "${partnerProductId}" is not offered at ${evseId}: pick one of the charging point's prices.`,
        "partnerProductId",
      );
    }
    const key = checkedKey(input.idempotencyKey);
    const earlier = key ? await this.keys.earlier(driver, key, "startCharging") : null;
    if (key && earlier) return this.keys.replay(driver, key, earlier, this.replaying);

    // Only a start that will reach Hubject counts against the EMP's budget (not replays or joins).
    // Checked before the key is taken: a refused start leaves the key for the app's retry.
    if (!(await this.deps.store.findRequested(driver.id, evseId))) await this.deps.limits.remoteStart();
    const id = randomUUID();
    if (key) {
      const taken = await this.keys.claim(driver, key, "startCharging", id);
      if (taken) return this.keys.replay(driver, key, taken, this.replaying);
    }
    const session = await this.insertOrJoin(driver, key, { id, evseId, evcoId, partnerProductId });
    if ("joined" in session) return this.kept(driver, key, session.joined);
    // Never retried automatically: a second remote start opens a second session (docs/oicp.md#lost-answer).
    const settle = this.track(session.id, async () => {
      const outcome = await this.deps.hubject.authorizeRemoteStart({ evseId, evcoId, empPartnerSessionId: id, partnerProductId });
      return this.settleStart(session, outcome);
    });
    return this.respond(session.id, this.kept(driver, key, settle));
  }

  async stopCharging(driver: Driver, input: StopChargingInput): Promise<ChargingResult> {
    await this.deps.limits.driverMutation(driver.id);
    const session = await this.deps.reads.ownSession(driver, input.sessionId, "stop");
    const key = checkedKey(input.idempotencyKey);
    const earlier = key ? await this.keys.earlier(driver, key, "stopCharging") : null;
    if (key && earlier) return this.keys.replay(driver, key, earlier, this.replaying);

    // Answers that do nothing upstream leave the key free (a retry once charging can stop).
    const running = this.settling.get(session.id);
    if (running && session.status === "STOP_REQUESTED") return this.respond(session.id, running);
    if (session.status === "STOP_REQUESTED" || session.status === "CHARGING_ENDED") {
      return { session, error: null }; // already stopping or stopped: no second upstream call
    }
    if (!isActive(session.status)) return { session, error: GATEWAY_ERRORS.sessionNotActive() };
    if (!session.hubjectSessionId) return { session, error: GATEWAY_ERRORS.sessionStarting() };

    if (key) {
      const taken = await this.keys.claim(driver, key, "stopCharging", session.id);
      if (taken) return this.keys.replay(driver, key, taken, this.replaying);
    }
    const requested = await this.deps.writer.apply(session.id, { type: "STOP_REQUESTED", at: this.deps.writer.clock.now() });
    if (requested?.status !== "STOP_REQUESTED" || requested.version === session.version) {
      return this.kept(driver, key, Promise.resolve({ session: requested ?? session, error: null })); // someone else is stopping it
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
    return this.respond(session.id, this.kept(driver, key, settle));
  }

  /** The call's answer, kept with its idempotency key (if it has one) for every repeat of the key. */
  private async kept(driver: Driver, key: string | null, outcome: Promise<ChargingResult>): Promise<ChargingResult> {
    const result = await outcome;
    if (key) {
      await this.keys.settle(driver, key, result).catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, "could not keep the answer with its idempotency key; a repeat answers from the session");
      });
    }
    return result;
  }

  /** Whether this process is still waiting for Hubject's answer for the session. */
  isSettling(sessionId: string): boolean {
    return this.settling.has(sessionId);
  }

  /** Resolves when every upstream call this process started has settled (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.settling.size > 0) await Promise.allSettled([...this.settling.values()]);
  }

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
      const session = await this.deps.writer.create({
        ...fields,
        driverId: driver.id,
        status: "REQUESTED",
        requestedAt: this.deps.writer.clock.now(),
      });
      if (session) return session;
      const running = await this.deps.store.findRequested(driver.id, fields.evseId);
      if (!running) continue; // it settled in between: try again
      if (key) await this.keys.retarget(driver, key, running.id);
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

  private async settleStart(session: ChargingSession, outcome: RemoteCallOutcome): Promise<ChargingResult> {
    const at = this.deps.writer.clock.now();
    let event: SessionEvent;
    let error: ChargingErrorInfo | null = null;
    switch (outcome.kind) {
      case "answered": {
        const statusCode = outcome.status;
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
        error = transportFailure(outcome);
        event = { type: "START_REJECTED", at, statusCode: outcome.status };
        break;
    }
    this.logOutcome("AuthorizeRemoteStart", session, outcome, error);
    this.deps.metrics?.remoteStart(error?.code ?? "ACCEPTED");
    let settled = (await this.deps.writer.apply(session.id, event)) ?? session;
    if (settled.hubjectSessionId) settled = (await this.deps.inbound.applyMessagesFor(settled)) ?? settled;
    return { session: settled, error };
  }

  private async settleStop(session: ChargingSession, outcome: RemoteCallOutcome): Promise<ChargingResult> {
    const at = this.deps.writer.clock.now();
    let event: SessionEvent | null = null;
    let error: ChargingErrorInfo | null = null;
    if (outcome.kind === "answered" && outcome.status.code === "400" && !outcome.result) {
      // "Session is invalid": Hubject no longer knows it, so it has ended (docs/oicp.md#stop-after-end).
      // Its CDR, if Hubject has one, settles it now; else it ends here and the CDR follows when it comes.
      this.logOutcome("AuthorizeRemoteStop", session, outcome, null);
      if (await this.deps.evidence.lookUpCdr(session)) return { session: (await this.deps.store.get(session.id)) ?? session, error: null };
      const ended = await this.deps.writer.apply(session.id, { type: "STOP_SETTLED", at, ended: true, reason: SESSION_UNKNOWN_TO_HUBJECT });
      return { session: ended ?? session, error: null };
    }
    if (outcome.kind === "answered") {
      const statusCode = outcome.status;
      if (outcome.result) {
        event = { type: "STOP_ACCEPTED", at, statusCode };
      } else {
        error = forStop(chargingErrorForOicpCode(statusCode.code));
        event = error.outcomeUnknown ? { type: "STOP_ACCEPTED", at, statusCode } : { type: "STOP_REJECTED", at, statusCode };
      }
    } else if (outcome.kind === "unknown") {
      // The charger may still stop: STOP_REQUESTED stays until End, the CDR or the reconciler settles it.
      error = TRANSPORT_ERRORS.outcomeUnknown();
    } else {
      // Nothing was executed: the charger is still charging, and the driver is told what to do.
      error = forStop(transportFailure(outcome));
      event = { type: "STOP_REJECTED", at, statusCode: outcome.status };
    }
    this.logOutcome("AuthorizeRemoteStop", session, outcome, error);
    const settled = event ? ((await this.deps.writer.apply(session.id, event)) ?? session) : session;
    return { session: settled, error };
  }

  /** The one log line per remote call: its outcome, with Hubject's Process-ID for support tickets. */
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
      // The client reports the configuration fault loudly once; each affected call is a warning.
      this.deps.logger.warn(fields, `${operation} failed on configuration: check HUBJECT_PROVIDER_ID and the client certificate`);
    } else {
      this.deps.logger.info(fields, `${operation} ${error ? `ended with ${error.code}` : "accepted"}`);
    }
  }
}

const SESSION_UNKNOWN_TO_HUBJECT =
  "The roaming network no longer knows this session: it has ended. The final figures follow with the charge detail record.";

/**
 * A stop that did not go through for a reason on the network's side: the session is still
 * charging, and the driver can stop at the charging station meanwhile.
 */
function forStop(error: ChargingErrorInfo): ChargingErrorInfo {
  if (!["CONFIGURATION_ERROR", "HUBJECT_UNAVAILABLE", "HUBJECT_ERROR", "OPERATOR_UNAVAILABLE", "UNKNOWN_ERROR"].includes(error.code))
    return error;
  return {
    ...error,
    message: error.retryable
      ? "Stopping from the app did not work. Try again in a moment, or stop at the charging station."
      : "Stopping from the app is not possible right now. Stop at the charging station.",
  };
}

function transportFailure(outcome: Extract<RemoteCallOutcome, { kind: "failed" }>): ChargingErrorInfo {
  return outcome.reason === "unreachable" || outcome.reason === "rate-limited" || outcome.reason === "circuit-open"
    ? TRANSPORT_ERRORS.unavailable()
    : TRANSPORT_ERRORS.configuration(outcome.status.code || null);
}

/** The contract to charge with: the one named (it must be the driver's), or the driver's only one. */
function contractFor(driver: Driver, requested: string | null | undefined): string {
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

/** What a finished (or still running) call looks like from its stored session alone. */
function resultOf(session: ChargingSession | null): ChargingResult {
  if (!session) return { session: null, error: TRANSPORT_ERRORS.outcomeUnknown() };
  const code = session.lastStatusCode?.code;
  if (session.status === "REJECTED" && code) return { session, error: chargingErrorForOicpCode(code) };
  if (session.status === "OUTCOME_UNKNOWN")
    return { session, error: code ? chargingErrorForOicpCode(code) : TRANSPORT_ERRORS.outcomeUnknown() };
  return { session, error: null };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
