// Step: the background jobs (reconciler, CDR back-fill, identification push in offline mode).
// They start last and stop first: they use everything else. One replica at a time runs them
// (the leader lease).
import type { CatalogueStore, EvseDataSource, EvseStatusEvents } from "../catalogue/ports.js";
import { CATALOGUE_DEFAULTS, CatalogueSync } from "../catalogue/sync.js";
import type { Config } from "../config/config.js";
import { DEFAULTS } from "../config/defaults.js";
import { type AuthenticationDataPush, IdentificationPusher, type PushStore } from "../identifications/push.js";
import { type JobRunner, startJobs } from "../jobs/job-runner.js";
import type { Logger } from "../logger.js";
import { type GatewayMetrics, identificationPushMetrics } from "../observability/metrics.js";
import type { PricingOperators, PricingSource, PricingStore } from "../pricing/ports.js";
import { PricingSync } from "../pricing/sync.js";
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
  /** Offline authorization (HUBJECT_AUTHORIZATION_MODE offline or both), else null. */
  identificationPush: IdentificationPusher | null;
  /** The EVSE catalogue's pulls (src/catalogue/sync.ts). */
  catalogueSync: CatalogueSync;
  /** The dynamic pricing pulls (src/pricing/sync.ts), when a pricing store is wired. */
  pricingSync?: PricingSync | null;
}

export function createJobs(
  config: Config,
  deps: {
    store: SessionStore;
    sessions: SessionService;
    hubject: CdrSource & AuthenticationDataPush & EvseDataSource;
    identifications: PushStore;
    catalogue: CatalogueStore;
    evseStatusEvents: EvseStatusEvents | null;
    remoteTimeoutMs: number;
    metrics: GatewayMetrics | null;
    logger: Logger;
    pricing?: { store: PricingStore; source: PricingSource; operators: PricingOperators };
  },
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
  const identificationPush =
    config.identifications.authorizationMode === "online" ? null : createIdentificationPusher(config, { ...deps, logger });
  const catalogueSync = new CatalogueSync({
    store: deps.catalogue,
    source: hubject,
    events: deps.evseStatusEvents,
    logger: logger.child({ component: "catalogue-sync" }),
    pageSize: CATALOGUE_DEFAULTS.pageSize,
    ...(deps.metrics ? { onSkipped: (n: number) => deps.metrics?.catalogueRecordsSkipped.inc(n) } : {}),
  });
  const pricingSync = deps.pricing
    ? new PricingSync({
        ...deps.pricing,
        logger: logger.child({ component: "pricing-sync" }),
        fullEveryMs: DEFAULTS.pricingFullSyncEveryMs,
        callsPerMinute: { "pricing-products": DEFAULTS.pricingProductCallsPerMinute, "evse-pricing": DEFAULTS.evsePricingCallsPerMinute },
        operatorsPerCall: DEFAULTS.pricingOperatorsPerCall,
      })
    : null;
  return { reconciler, cdrBackfill, identificationPush, catalogueSync, pricingSync };
}

/** The pusher of offline authorization (src/identifications/push.ts); also what the operator's script runs. */
export function createIdentificationPusher(
  config: Config,
  deps: { hubject: AuthenticationDataPush; identifications: PushStore; metrics: GatewayMetrics | null; logger: Logger },
): IdentificationPusher {
  return new IdentificationPusher({
    store: deps.identifications,
    hubject: deps.hubject,
    clock: SYSTEM_CLOCK,
    logger: deps.logger.child({ component: "identification-push" }),
    metrics: deps.metrics ? identificationPushMetrics(deps.metrics) : null,
    batchSize: config.identifications.pushBatch,
    callsPerMinute: DEFAULTS.identificationPushCallsPerMinute,
  });
}

/**
 * Runs `work` while holding the lease "identification-push", or not at all when another process
 * holds it: the job's runs and an operator's full load from another process never overlap, as
 * pushes must not (docs/oicp.md#transport). Taken per run, so that the script can get it between
 * two runs. SQLite: one process per file, always granted.
 */
export async function underPushLease<T>(databaseUrl: string, logger: Logger, work: () => Promise<T>): Promise<T | undefined> {
  // Taking it every run is routine, not news: only the warnings are logged.
  const quiet = { info: () => undefined, warn: logger.warn.bind(logger) } as Pick<Logger, "info" | "warn">;
  const lease = createLeaderLease(databaseUrl, "identification-push", quiet);
  try {
    return (await lease.isLeader()) ? await work() : undefined;
  } finally {
    await lease.close();
  }
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
      ...(step.identificationPush ? [identificationPushJob(config, step.identificationPush, logger)] : []),
      ...(step.pricingSync
        ? [{ name: "pricing-sync", intervalMs: DEFAULTS.pricingSyncIntervalMs, run: () => step.pricingSync!.run() }]
        : []),
      {
        name: "catalogue-data",
        intervalMs: CATALOGUE_DEFAULTS.dataJobIntervalMs,
        run: () => step.catalogueSync.syncDataIfDue(CATALOGUE_DEFAULTS.deltaEveryMs),
      },
      { name: "catalogue-status", intervalMs: CATALOGUE_DEFAULTS.statusIntervalMs, run: () => step.catalogueSync.syncStatus() },
    ],
    logger.child({ component: "jobs" }),
    { shouldRun: () => leader.isLeader() },
  );
  closers.push(() => jobs.stop());
  // Closed before jobs.stop() waits: a run waiting for the rate limit ends at once.
  if (step.identificationPush) closers.push(() => step.identificationPush?.close());
  return jobs;
}

function identificationPushJob(config: Config, pusher: IdentificationPusher, logger: Logger) {
  return {
    name: "identification-push",
    intervalMs: config.identifications.pushIntervalMs,
    run: () => underPushLease(config.databaseUrl, logger, () => pusher.run()),
  };
}

/** Every inbound message is kept as received for INBOUND_RETENTION_DAYS (audits, billing disputes), then deleted. */
async function pruneInbound(store: SessionStore, days: number, logger: Logger): Promise<number> {
  const deleted = await store.pruneInbound(new Date(Date.now() - days * 86_400_000));
  if (deleted > 0) logger.info({ deleted, retentionDays: days }, "inbound messages past their retention deleted");
  return deleted;
}
