// The reconciler settles what the request/answer flow could not (docs/oicp.md#lost-answer to
// #optional-notifications), on evidence only:
// - starts whose answer was lost (the process stopped while waiting): REQUESTED → OUTCOME_UNKNOWN;
// - unconfirmed starts: a notification or CDR naming the session settles them on its own; after
//   the give-up time without one, Hubject's CDR is looked for, and then the session ends
//   truthfully (REJECTED, saying whether the EVSE stayed free or is in use by someone);
// - stops whose outcome is not known (timeout, 310, no End or CDR after the settle time): the
//   CDR is looked for, then the EVSE's status decides: free → CHARGING_ENDED, in use → back to
//   CHARGING so that the driver can stop again;
// - messages still waiting for their session (after a restart, or a driver seen later);
// - CHARGING sessions that turned stale: pushed once more so that apps show it.
// It never sends a remote start or stop. Status reads are bounded per run (Hubject's budget).
import type { Logger } from "../logger.js";
import type { SessionEvidence } from "./evidence.js";
import type { ChargingSession } from "./session.js";
import { isStale } from "./session.js";
import type { SessionService } from "./session.service.js";
import type { SessionStore } from "./session.store.js";

export interface ReconcilerOptions {
  store: SessionStore;
  sessions: SessionService;
  evidence: SessionEvidence;
  logger: Logger;
  /** A REQUESTED session older than this has lost its answer (above the remote-start timeout). */
  lostAnswerAfterMs: number;
  /** An unconfirmed start without evidence this long after the request did not start, as far as anyone can tell. */
  giveUpAfterMs: number;
  /** A stop with no End or CDR this long after it was asked is checked and settled. */
  stopSettleAfterMs: number;
  /** At most this many PullEvseStatusById calls per run. */
  maxStatusCallsPerRun: number;
  staleAfterMs: number;
  /** Messages younger than this are left to the live path. */
  waitingMessageGraceMs: number;
}

export interface ReconcileReport {
  lostAnswers: number;
  statusCalls: number;
  settled: number;
  stopsSettled: number;
  messagesApplied: number;
  newlyStale: number;
}

const BATCH = 100;
/** Waiting messages older than this are left alone (kept in the store, but no longer matched). */
const WAITING_MESSAGE_WINDOW_MS = 24 * 3_600_000;

export class Reconciler {
  /** Sessions already pushed as stale; cleared when they are heard from again. */
  private readonly announcedStale = new Set<string>();

  constructor(private readonly options: ReconcilerOptions) {}

  async run(now = new Date()): Promise<ReconcileReport> {
    const report: ReconcileReport = { lostAnswers: 0, statusCalls: 0, settled: 0, stopsSettled: 0, messagesApplied: 0, newlyStale: 0 };
    await this.settleLostAnswers(now, report);
    await this.settleUnknownOutcomes(now, report);
    await this.settleStops(now, report);
    report.messagesApplied = await this.options.sessions.applyWaitingMessages(
      new Date(now.getTime() - WAITING_MESSAGE_WINDOW_MS),
      new Date(now.getTime() - this.options.waitingMessageGraceMs),
      500,
    );
    await this.announceStale(now, report);
    if (report.lostAnswers + report.settled + report.stopsSettled + report.messagesApplied + report.newlyStale > 0) {
      this.options.logger.info(report, "reconciler settled sessions");
    }
    return report;
  }

  private async settleLostAnswers(now: Date, report: ReconcileReport) {
    const { store, sessions, lostAnswerAfterMs } = this.options;
    const stuck = await store.scan({ statuses: ["REQUESTED"], requestedBefore: new Date(now.getTime() - lostAnswerAfterMs), limit: 500 });
    for (const session of stuck) {
      if (sessions.isSettling(session.id)) continue;
      if (await sessions.markOutcomeLost(session.id)) report.lostAnswers++;
    }
  }

  private async settleUnknownOutcomes(now: Date, report: ReconcileReport) {
    const { store, sessions, evidence, giveUpAfterMs } = this.options;
    const due = await store.scan({
      statuses: ["OUTCOME_UNKNOWN"],
      requestedBefore: new Date(now.getTime() - giveUpAfterMs),
      limit: BATCH * this.options.maxStatusCallsPerRun,
    });
    await this.inBatches(due, report, async (batch, statuses) => {
      for (const session of batch) {
        if (await evidence.lookUpCdr(session)) continue; // the CDR settled it
        const status = statuses?.get(session.evseId);
        const occupied = status === undefined || status === "Unknown" || status === "EvseNotFound" ? null : status !== "Available";
        const changed = await sessions.giveUpStart(session.id, occupied);
        if (changed && changed.version !== session.version) report.settled++;
      }
    });
  }

  private async settleStops(now: Date, report: ReconcileReport) {
    const { store, sessions, evidence, stopSettleAfterMs } = this.options;
    const waiting = await store.scan({ statuses: ["STOP_REQUESTED"], limit: BATCH * this.options.maxStatusCallsPerRun });
    const due = waiting.filter(
      (s) => !sessions.isSettling(s.id) && (s.stopRequestedAt ?? s.requestedAt).getTime() <= now.getTime() - stopSettleAfterMs,
    );
    await this.inBatches(due, report, async (batch, statuses) => {
      if (!statuses) return; // without the status nothing can be told; the next run tries again
      for (const session of batch) {
        if (await evidence.lookUpCdr(session)) continue;
        const status = statuses.get(session.evseId);
        if (status === undefined || status === "Unknown") continue;
        const ended = status === "Available" || status === "EvseNotFound";
        const changed = await sessions.settleStop(session.id, ended, ended ? STOP_ENDED : STOP_NOT_CONFIRMED);
        if (changed && changed.version !== session.version) report.stopsSettled++;
      }
    });
  }

  /** Status reads of ≤100 EVSEs each, at most maxStatusCallsPerRun per run (shared by both kinds of settling). */
  private async inBatches(
    sessions: ChargingSession[],
    report: ReconcileReport,
    work: (batch: ChargingSession[], statuses: Awaited<ReturnType<SessionEvidence["evseStatuses"]>>) => Promise<void>,
  ) {
    for (let i = 0; i < sessions.length && report.statusCalls < this.options.maxStatusCallsPerRun; i += BATCH) {
      const batch = sessions.slice(i, i + BATCH);
      report.statusCalls++;
      await work(batch, await this.options.evidence.evseStatuses([...new Set(batch.map((s) => s.evseId))]));
    }
  }

  private async announceStale(now: Date, report: ReconcileReport) {
    const { store, sessions, staleAfterMs } = this.options;
    const silent = await store.scan({
      statuses: ["CHARGING", "STOP_REQUESTED"],
      lastHeardBefore: new Date(now.getTime() - staleAfterMs),
      limit: 1000,
    });
    const stillStale = new Set<string>();
    for (const session of silent) {
      if (!isStale(session, now, staleAfterMs)) continue;
      stillStale.add(session.id);
      if (this.announcedStale.has(session.id)) continue;
      sessions.announce(session);
      report.newlyStale++;
    }
    this.announcedStale.clear();
    for (const id of stillStale) this.announcedStale.add(id);
  }
}

export const STOP_ENDED =
  "The charging point is free again: the session has ended. The final figures follow with the charge detail record.";
export const STOP_NOT_CONFIRMED =
  "The stop was not confirmed and the charging point is still in use. Stop again, or stop at the charging station.";
