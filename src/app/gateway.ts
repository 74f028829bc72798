// The composition root: picks the adapters (store, Hubject, pub/sub) from the config and wires
// the two listeners, in named steps (one file each in src/app). Nothing else constructs them.
// Every step registers how to undo itself; close() undoes them in reverse order.
import type { Config } from "../config/config.js";
import type { HubjectDatasource } from "../datasources/hubject.datasource.js";
import type { IdentificationPusher } from "../identifications/push.js";
import type { IdentificationRegistry } from "../identifications/registry.js";
import type { JobRunner } from "../jobs/job-runner.js";
import { createLogger, type Logger } from "../logger.js";
import { GatewayMetrics } from "../observability/metrics.js";
import { createOpsEndpoints, type ReadinessReport } from "../observability/ops-endpoints.js";
import { startTracing } from "../observability/tracing.js";
import { PricingService } from "../pricing/pricing.service.js";
import type { AuthenticatorOptions } from "../server/auth.js";
import type { CdrBackfill } from "../sessions/cdr-backfill.js";
import type { Reconciler } from "../sessions/reconciler.js";
import type { SessionStore } from "../sessions/session.store.js";
import type { HubjectSimulator, SimulatorPace } from "../simulator/hubject.simulator.js";
import { openSqlStore } from "../store/sql/database.js";
import { createCatalogue } from "./catalogue.js";
import { createEvseStatus } from "./evse-status.js";
import { startGraphQL } from "./graphql.js";
import { startHubject } from "./hubject.js";
import { createIdentifications } from "./identifications.js";
import { createJobs, startBackgroundJobs } from "./jobs.js";
import { Closers } from "./lifecycle.js";
import { createLimits } from "./limits.js";
import { startOicp } from "./oicp.js";
import { createReadiness } from "./readiness.js";
import { createSessionEvents, createSessions } from "./sessions.js";

export interface Gateway {
  /** http://host:port/graphql */
  graphqlUrl: string;
  /** ws://host:port/graphql */
  websocketUrl: string;
  /** Base URL Hubject calls (the Service URL to register), without the /api/oicp suffix. */
  oicpUrl: string;
  /** The embedded simulator when HUBJECT_BASE_URL is unset, else null. */
  simulator: HubjectSimulator | null;
  store: SessionStore;
  /** Null when METRICS_ENABLED=false. */
  metrics: GatewayMetrics | null;
  readiness(): Promise<ReadinessReport>;
  /** The background jobs ("reconcile", "cdr-backfill"); runNow() runs one at once. */
  jobs: JobRunner;
  /** The jobs themselves, for a run at a chosen instant (tests). */
  reconciler: Reconciler;
  cdrBackfill: CdrBackfill;
  /** Offline authorization's pusher ("identification-push" job), null in online mode. */
  identificationPush: IdentificationPusher | null;
  hubject: HubjectDatasource;
  /** The EMP's cards, QR codes and cars (src/identifications). */
  identifications: IdentificationRegistry;
  logger: Logger;
  close(): Promise<void>;
}

export interface GatewayOverrides {
  logger?: Logger;
  /** Test-only: pace of the embedded simulator beyond what the config sets. */
  simulatorPace?: Partial<SimulatorPace>;
  /**
   * Test-only: a remote-start/stop timeout below the 60 s CPO window, so that fault tests can
   * provoke a timeout in milliseconds. No environment variable can reach this.
   */
  shortRemoteTimeoutMs?: number;
  /** JWKS cache tuning (tests rotate keys faster than jose's 30 s cooldown). */
  authenticator?: AuthenticatorOptions;
}

export async function startGateway(config: Config, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  const closers = new Closers();
  const close = () => closers.closeAll();
  try {
    // First: the components take the tracer when they are built; its closer runs last.
    const tracing = startTracing({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName, logger });
    closers.push(() => tracing.shutdown());
    const metrics = config.metrics ? new GatewayMetrics() : null;

    // 1. The store.
    const store = openSqlStore({
      url: config.databaseUrl,
      sessionCacheSize: config.sessionCacheSize,
      logger: logger.child({ component: "store" }),
    });
    closers.push(() => store.close());
    await store.migrate();

    // 2. Hubject (or its simulator).
    const { hubject, simulator, remoteTimeoutMs } = await startHubject(
      config,
      { logger, tracer: tracing.tracer, metrics, closers },
      overrides,
    );

    // 3. The use cases, on the fan-out and the rate limits.
    const events = createSessionEvents(config, { store, metrics, logger, closers });
    const limits = createLimits(config, logger, closers);
    const catalogue = createCatalogue(config, { catalogue: store.catalogue, logger, closers });
    const evseStatus = createEvseStatus(config, { hubject, limits, metrics, logger, onObserved: catalogue.observed });
    const statuses = evseStatus.reader.asSource();
    const identifications = createIdentifications(config, { store, logger, closers });
    const pricing = new PricingService({ store: store.pricing, providerId: config.hubject.providerId });
    const sessions = createSessions(config, {
      offers: pricing,
      store,
      hubject,
      statuses,
      limits,
      events,
      holders: identifications,
      remoteTimeoutMs,
      metrics,
      logger,
      closers,
    });
    const background = createJobs(config, {
      store,
      sessions,
      hubject,
      identifications: store.identifications,
      catalogue: store.catalogue,
      evseStatusEvents: catalogue.events,
      pricing: { store: store.pricing, source: hubject, operators: () => store.pricing.catalogueOperatorIds() },
      remoteTimeoutMs,
      metrics,
      logger,
    });

    // 4. The two listeners: what Hubject calls, and what the apps call.
    const readiness = createReadiness({ store, events, hubject });
    const ops = createOpsEndpoints({ readiness, metrics });
    const oicpUrl = await startOicp(config, {
      sessions,
      identifications,
      ops,
      tracer: tracing.tracer,
      metrics,
      simulator,
      logger,
      closers,
    });
    const { graphqlUrl, websocketUrl } = await startGraphQL(
      config,
      {
        ...{ store, sessions, events, evseStatus, identifications, simulator, ops, metrics, tracing, logger, closers },
        catalogue: { store: store.catalogue, events: catalogue.events },
        pricing,
      },
      overrides,
    );

    // 5. The background jobs, last: they use everything above.
    const jobs = startBackgroundJobs(config, background, { store, logger, closers });

    return {
      graphqlUrl,
      websocketUrl,
      oicpUrl,
      simulator,
      store,
      metrics,
      readiness,
      jobs,
      ...background,
      hubject,
      identifications,
      logger,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
