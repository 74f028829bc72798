// The reconciler settles what the request/answer flow could not (docs/oicp.md#lost-answer to #optional-notifications):
// - starts whose answer was lost (the process stopped while waiting): REQUESTED → OUTCOME_UNKNOWN;
// - unknown outcomes: asks Hubject for the EVSE status (PullEvseStatusById, ≤100 ids a call,
//   a bounded number of calls per run: 300/min is the limit) and lets the state machine decide;
// - messages still waiting for their session (after a restart, or a driver seen later);
// - CHARGING sessions that turned stale: pushed once more so that apps show it.
// It never sends a remote start or stop.
import type { Logger } from "../logger.js";
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import type { EvseStatusSource } from "./ports.js";
import { isStale } from "./session.js";
import type { SessionService } from "./session.service.js";
import type { SessionStore } from "./session.store.js";

export interface ReconcilerOptions {
  store: SessionStore;
  sessions: SessionService;
  hubject: EvseStatusSource;
  logger: Logger;
  /** A REQUESTED session older than this has lost its answer (above the remote-start timeout). */
  lostAnswerAfterMs: number;
  /** An unknown outcome whose EVSE stayed free this long after the request did not start. */
  giveUpAfterMs: number;
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
    const report: ReconcileReport = { lostAnswers: 0, statusCalls: 0, settled: 0, messagesApplied: 0, newlyStale: 0 };
    await this.settleLostAnswers(now, report);
    await this.settleUnknownOutcomes(now, report);
    report.messagesApplied = await this.options.sessions.applyWaitingMessages(
      new Date(now.getTime() - WAITING_MESSAGE_WINDOW_MS),
      new Date(now.getTime() - this.options.waitingMessageGraceMs),
      500,
    );
    await this.announceStale(now, report);
    if (report.lostAnswers + report.settled + report.messagesApplied + report.newlyStale > 0) {
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
    const { store, sessions, hubject, maxStatusCallsPerRun, giveUpAfterMs, logger } = this.options;
    const unknown = await store.scan({ statuses: ["OUTCOME_UNKNOWN"], limit: BATCH * maxStatusCallsPerRun });
    for (let i = 0; i < unknown.length && report.statusCalls < maxStatusCallsPerRun; i += BATCH) {
      const batch = unknown.slice(i, i + BATCH);
      let statuses: Map<string, OicpEvseStatus>;
      try {
        report.statusCalls++;
        statuses = await hubject.pullEvseStatusById([...new Set(batch.map((s) => s.evseId))]);
      } catch (error) {
        logger.warn({ err: error }, "reconciler could not read EVSE statuses; next run tries again");
        return;
      }
      for (const session of batch) {
        const status = statuses.get(session.evseId);
        if (!status || status === "Unknown") continue; // nothing learnt
        const giveUp = now.getTime() - session.requestedAt.getTime() > giveUpAfterMs;
        const changed = await sessions.observeEvse(session.id, status === "Occupied", giveUp);
        if (changed && changed.version !== session.version) report.settled++;
      }
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
