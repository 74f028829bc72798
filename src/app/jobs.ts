// Step: the background jobs (reconciler, CDR back-fill). They start last and stop first: they use
// everything else. One replica at a time runs them (the leader lease).
import type { Config } from "../config/config.js";
import { type JobRunner, startJobs } from "../jobs/job-runner.js";
import type { Logger } from "../logger.js";
import { CdrBackfill } from "../sessions/cdr-backfill.js";
import { type CdrSource, SYSTEM_CLOCK } from "../sessions/ports.js";
import { Reconciler } from "../sessions/reconciler.js";
import type { SessionService } from "../sessions/session.service.js";
import type { SessionStore } from "../sessions/session.store.js";
import { createLeaderLease } from "../store/sql/leader.js";
import type { Closers } from "./lifecycle.js";

export interface JobsStep {
  jobs: JobRunner;
  reconciler: Reconciler;
  cdrBackfill: CdrBackfill;
}

export function createJobs(
  config: Config,
  deps: { store: SessionStore; sessions: SessionService; hubject: CdrSource; remoteTimeoutMs: number; logger: Logger },
): Omit<JobsStep, "jobs"> {
  const { store, sessions, hubject, logger } = deps;
  const reconciler = new Reconciler({
    store,
    sessions,
    evidence: sessions.evidence,
    logger: logger.child({ component: "reconciler" }),
    lostAnswerAfterMs: deps.remoteTimeoutMs + 30_000,
    giveUpAfterMs: config.jobs.reconcileGiveUpMs,
    stopSettleAfterMs: config.jobs.stopSettleAfterMs,
    maxStatusCallsPerRun: config.jobs.reconcileMaxStatusCalls,
    staleAfterMs: config.staleAfterMs,
    waitingMessageGraceMs: 5_000,
  });
  const cdrBackfill = new CdrBackfill({
    sessions,
    hubject,
    clock: SYSTEM_CLOCK,
    logger: logger.child({ component: "cdr-backfill" }),
    lookbackMs: config.jobs.cdrBackfillLookbackMs,
  });
  return { reconciler, cdrBackfill };
}

export function startBackgroundJobs(
  config: Config,
  step: Omit<JobsStep, "jobs">,
  deps: { store: SessionStore; logger: Logger; closers: Closers },
): JobRunner {
  const { store, logger, closers } = deps;
  const leader = createLeaderLease(config.databaseUrl, "background-jobs", logger.child({ component: "leader" }));
  closers.push(() => leader.close());
  const jobs = startJobs(
    [
      { name: "reconcile", intervalMs: config.jobs.reconcileIntervalMs, run: () => step.reconciler.run() },
      { name: "cdr-backfill", intervalMs: config.jobs.cdrBackfillIntervalMs, run: () => step.cdrBackfill.run() },
      {
        name: "inbound-retention",
        intervalMs: config.jobs.inboundRetentionIntervalMs,
        run: () => pruneInbound(store, config.jobs.inboundRetentionDays, logger.child({ component: "retention" })),
      },
    ],
    logger.child({ component: "jobs" }),
    { shouldRun: () => leader.isLeader() },
  );
  closers.push(() => jobs.stop());
  return jobs;
}

/** Every inbound message is kept as received for INBOUND_RETENTION_DAYS (audits, billing disputes), then deleted. */
async function pruneInbound(store: SessionStore, days: number, logger: Logger): Promise<number> {
  const deleted = await store.pruneInbound(new Date(Date.now() - days * 86_400_000));
  if (deleted > 0) logger.info({ deleted, retentionDays: days }, "inbound messages past their retention deleted");
  return deleted;
}
