// The session use cases, composed: the driver's commands (driver-commands.ts), what Hubject tells
// us (inbound-messages.ts), reads (session-reads.ts), all writing through one path
// (session-writer.ts, with the state machine in session-state.ts). Resolvers, the OICP listener
// and the background jobs call this facade; all code-to-error mapping is in oicp/wire/status-codes.ts.
import type { Logger } from "../logger.js";
import { ChargerSessions } from "./charger-sessions.js";
import { type ChargingResult, DriverCommands, type StartChargingInput, type StopChargingInput } from "./driver-commands.js";
import { SessionEvidence } from "./evidence.js";
import { type InboundDelivery, InboundMessages, type InboundOutcome } from "./inbound-messages.js";
import {
  type CdrSource,
  type ChargerIdentities,
  type Clock,
  type EvseStatusSource,
  type InboundReader,
  type MutationLimits,
  NO_LIMITS,
  type ProductOffers,
  type RemoteCharging,
  type SessionEvents,
  type SessionMetrics,
  SYSTEM_CLOCK,
} from "./ports.js";
import type { ChargingSession, Driver } from "./session.js";
import type { SessionPageQuery, SessionStore } from "./session.store.js";
import { SessionReads } from "./session-reads.js";
import { SessionWriter } from "./session-writer.js";

export type { ChargingResult, StartChargingInput, StopChargingInput } from "./driver-commands.js";
export type { InboundDelivery, InboundOutcome } from "./inbound-messages.js";

/** No source of evidence: lookups find nothing (a use-case test, a tool). */
const NO_CDRS: CdrSource = { chargeDetailRecordTexts: async function* () {} };
const NO_STATUSES: EvseStatusSource = { pullEvseStatusById: async (ids) => new Map(ids.map((id) => [id, "Unknown" as const])) };

export type { Driver } from "./session.js";

export interface SessionServiceOptions {
  store: SessionStore;
  hubject: RemoteCharging;
  events: SessionEvents;
  /** Reads inbound message bodies, also again from the store (the OICP parser). */
  reader: InboundReader;
  logger: Logger;
  /** Window for the EvseID + EvcoID fallback match (docs/oicp.md#session-flow). */
  matchWindowMs: number;
  /** How long a mutation waits for Hubject before answering with the session as it stands. */
  mutationWaitMs: number;
  /** How long a joined call may wait for a start that runs elsewhere (above the remote timeout). */
  joinTimeoutMs: number;
  /** Where evidence about unconfirmed sessions comes from (the Hubject datasource); none: no lookups. */
  cdrs?: CdrSource;
  statuses?: EvseStatusSource;
  /** Per-driver and EMP-wide rate limits; none by default. */
  limits?: MutationLimits;
  metrics?: SessionMetrics;
  clock?: Clock;
  /** The identifications registry: sessions authorized at the charger without asking us reach their driver. */
  holders?: ChargerIdentities;
  /** Which products each EVSE offers (src/pricing); none: startCharging lets every product through. */
  offers?: ProductOffers;
}

export class SessionService {
  readonly writer: SessionWriter;
  readonly reads: SessionReads;
  readonly inbound: InboundMessages;
  readonly commands: DriverCommands;
  readonly evidence: SessionEvidence;
  /** Sessions authorized and stopped at the charger (AuthorizeStart / AuthorizeStop). */
  readonly charger: ChargerSessions;

  constructor(options: SessionServiceOptions) {
    const { store, logger, metrics } = options;
    this.writer = new SessionWriter({
      store,
      events: options.events,
      clock: options.clock ?? SYSTEM_CLOCK,
      ...(metrics ? { metrics } : {}),
    });
    this.reads = new SessionReads(store);
    this.inbound = new InboundMessages({
      store,
      writer: this.writer,
      reader: options.reader,
      clock: this.writer.clock,
      logger,
      matchWindowMs: options.matchWindowMs,
      ...(metrics ? { metrics } : {}),
      ...(options.holders ? { holders: options.holders } : {}),
    });
    this.evidence = new SessionEvidence({
      cdrs: options.cdrs ?? NO_CDRS,
      statuses: options.statuses ?? NO_STATUSES,
      inbound: this.inbound,
      store,
      clock: this.writer.clock,
      logger,
    });
    this.charger = new ChargerSessions({ store, writer: this.writer, inbound: this.inbound, logger });
    this.commands = new DriverCommands({
      store,
      hubject: options.hubject,
      writer: this.writer,
      reads: this.reads,
      inbound: this.inbound,
      evidence: this.evidence,
      limits: options.limits ?? NO_LIMITS,
      logger,
      mutationWaitMs: options.mutationWaitMs,
      joinTimeoutMs: options.joinTimeoutMs,
      ...(metrics ? { metrics } : {}),
      ...(options.offers ? { offers: options.offers } : {}),
    });
  }

  // ---- the driver ---------------------------------------------------------------------------

  startCharging(driver: Driver, input: StartChargingInput): Promise<ChargingResult> {
    return this.commands.startCharging(driver, input);
  }

  stopCharging(driver: Driver, input: StopChargingInput): Promise<ChargingResult> {
    return this.commands.stopCharging(driver, input);
  }

  sessionForDriver(driver: Driver, id: string): Promise<ChargingSession | null> {
    return this.reads.sessionForDriver(driver, id);
  }

  listForDriver(driver: Driver, query: Omit<SessionPageQuery, "driverId">) {
    return this.reads.listForDriver(driver, query);
  }

  ownSession(driver: Driver, id: string, verb: string): Promise<ChargingSession> {
    return this.reads.ownSession(driver, id, verb);
  }

  rememberContracts(driver: Driver): Promise<void> {
    return this.reads.rememberContracts(driver);
  }

  // ---- Hubject ------------------------------------------------------------------------------

  /** Stores a message Hubject sent (as received), then judges and applies it (inbound-messages.ts). */
  receive(delivery: InboundDelivery): Promise<InboundOutcome> {
    return this.inbound.receive(delivery);
  }

  applyWaitingMessages(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<number> {
    return this.inbound.applyWaitingMessages(receivedAfter, receivedBefore, limit);
  }

  // ---- the background jobs ------------------------------------------------------------------

  /** Whether this process is still waiting for Hubject's answer for the session. */
  isSettling(sessionId: string): boolean {
    return this.commands.isSettling(sessionId);
  }

  /** A start whose answer was lost (the process stopped while waiting): the outcome is unknown. */
  markOutcomeLost(sessionId: string): Promise<ChargingSession | undefined> {
    return this.writer.apply(sessionId, {
      type: "START_OUTCOME_UNKNOWN",
      at: this.writer.clock.now(),
      hubjectSessionId: null,
      statusCode: null,
    });
  }

  /** An unconfirmed start with no evidence after the give-up time ends truthfully (docs/oicp.md#lost-answer). */
  giveUpStart(sessionId: string, evseOccupied: boolean | null): Promise<ChargingSession | undefined> {
    return this.writer.apply(sessionId, { type: "START_NOT_CONFIRMED", at: this.writer.clock.now(), evseOccupied });
  }

  /** A stop with no news settles on what the reconciler found: ended (the EVSE is free) or still charging. */
  settleStop(sessionId: string, ended: boolean, reason: string): Promise<ChargingSession | undefined> {
    return this.writer.apply(sessionId, { type: "STOP_SETTLED", at: this.writer.clock.now(), ended, reason });
  }

  /** Operator: re-reads stored messages (after the cause that rejected them is fixed) and applies them. */
  reapply(seqs: readonly number[]): Promise<InboundOutcome[]> {
    return this.inbound.reapply(seqs);
  }

  /** Operator: of two different CDRs of a session, this stored one stands. */
  chooseCdr(seq: number): Promise<ChargingSession> {
    return this.inbound.chooseCdr(seq);
  }

  /** Pushes the session again, unchanged, e.g. when it just turned stale. */
  announce(session: ChargingSession): void {
    this.writer.announce(session);
  }

  /** Resolves when every upstream call this process started has settled (graceful shutdown). */
  drain(): Promise<void> {
    return this.commands.drain();
  }
}
