// The composition root: picks the adapters (store, Hubject, pub/sub) from the config and wires
// the two listeners. Nothing else in the code base constructs them.

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { createAppPage } from "./app-page/app-page.js";
import type { Config } from "./config/config.js";
import { checkClientCertificate } from "./datasources/client-certificate.js";
import { createEvseStatusLoader, createSharedEvseStatusWindow } from "./datasources/evse-status.loader.js";
import { HubjectDatasource } from "./datasources/hubject.datasource.js";
import { federationLoaders } from "./federation/loaders.js";
import { federationServerPlugins } from "./federation/server-plugins.js";
import { type JobRunner, startJobs } from "./jobs/job-runner.js";
import { createLogger, type Logger } from "./logger.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { createOpsEndpoints, type ReadinessReport } from "./observability/ops-endpoints.js";
import { startTracing } from "./observability/tracing.js";
import { createOicpListener } from "./oicp/inbound/listener.js";
import { createInProcessSessionEvents } from "./pubsub/in-process.js";
import { createRedisSessionEvents } from "./pubsub/redis.js";
import { buildGatewaySchema } from "./schema/build-schema.js";
import { type AuthenticatorOptions, createAuthenticator } from "./server/auth.js";
import type { GatewayContext } from "./server/context.js";
import { createGraphQLServer, GRAPHQL_PATH } from "./server/graphql.server.js";
import { createMutationLimits } from "./server/rate-limits.js";
import { CdrBackfill } from "./sessions/cdr-backfill.js";
import { Reconciler } from "./sessions/reconciler.js";
import { SessionService } from "./sessions/session.service.js";
import type { SessionStore } from "./sessions/session.store.js";
import { type HubjectSimulator, type SimulatorPace, startSimulator } from "./simulator/hubject.simulator.js";
import { openSqlStore } from "./store/sql/database.js";
import { createLeaderLease } from "./store/sql/leader.js";

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
  hubject: HubjectDatasource;
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
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };

  try {
    // First: the components take the tracer when they are built; its closer runs last.
    const tracing = startTracing({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName, logger });
    closers.push(() => tracing.shutdown());
    const metrics = config.metrics ? new GatewayMetrics() : null;
    const store = openSqlStore({
      url: config.databaseUrl,
      sessionCacheSize: config.sessionCacheSize,
      logger: logger.child({ component: "store" }),
    });
    closers.push(() => store.close());
    await store.migrate();

    let simulator: HubjectSimulator | null = null;
    let baseUrl: string;
    let tls = {};
    if (config.hubject.mode === "simulator") {
      simulator = await startSimulator({
        providerId: config.hubject.providerId,
        port: config.hubject.simulatorPort,
        pace: { ...config.hubject.pace, ...overrides.simulatorPace },
        logger: logger.child({ component: "simulator" }),
      });
      closers.push(() => simulator!.close());
      baseUrl = simulator.url;
    } else {
      baseUrl = config.hubject.baseUrl;
      tls = config.hubject.tls;
      // Refuse an expired or mismatched client certificate now, not at the first driver's start.
      if (config.hubject.tls.certFile) {
        checkClientCertificate({
          certFile: config.hubject.tls.certFile,
          keyFile: config.hubject.tls.keyFile,
          caFile: config.hubject.tls.caFile,
          providerId: config.hubject.providerId,
          logger: logger.child({ component: "hubject" }),
        });
      }
    }
    const remoteTimeoutMs = overrides.shortRemoteTimeoutMs ?? config.hubjectTimeouts.remoteMs;
    const hubject = new HubjectDatasource(
      {
        baseUrl,
        providerId: config.hubject.providerId,
        tls,
        remoteTimeoutMs,
        requestTimeoutMs: config.hubjectTimeouts.requestMs,
        maxSockets: config.hubjectMaxSockets,
        resilience: {
          retryAttempts: config.hubjectResilience.retryAttempts,
          breakerFailures: config.hubjectResilience.breakerFailures,
          breakerHalfOpenAfterMs: config.hubjectResilience.breakerHalfOpenAfterMs,
        },
        logger: logger.child({ component: "hubject" }),
        tracer: tracing.tracer,
        observer: metrics
          ? ({ operation, outcome, oicpCode, seconds }) => {
              metrics.hubjectCalls.inc({ operation, outcome, oicp_code: oicpCode ?? "none" });
              if (outcome !== "circuit-open") metrics.hubjectCallSeconds.observe({ operation }, seconds);
            }
          : undefined,
      },
      overrides.shortRemoteTimeoutMs === undefined ? undefined : { allowShortRemoteTimeout: true },
    );
    closers.push(() => hubject.close());

    const limiterRedis = config.redis ? new Redis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : null;
    if (limiterRedis) {
      limiterRedis.on("error", (error: Error) => logger.debug({ err: error.message }, "rate-limit Redis connection error"));
      closers.push(() => void limiterRedis.disconnect());
    }

    // Redis when several replicas share the sessions; in-process otherwise.
    const eventsLogger = logger.child({ component: "session-events" });
    const events = config.redis
      ? createRedisSessionEvents({ url: config.redis.url, channelPrefix: config.redis.channelPrefix, logger: eventsLogger })
      : createInProcessSessionEvents({ logger: eventsLogger });
    closers.push(() => events.close()); // runs after the servers stopped and in-flight calls settled
    const sessions = new SessionService({
      store,
      hubject,
      events,
      logger,
      matchWindowMs: config.sessionMatchWindowMs,
      mutationWaitMs: config.mutationWaitMs,
      joinTimeoutMs: remoteTimeoutMs + 5_000,
      metrics: metrics
        ? {
            remoteStart: (outcome) => metrics.remoteStartOutcomes.inc({ outcome }),
            reachedCharging: (seconds) => metrics.startToCharging.observe(seconds),
            inbound: (type, result, lag) => {
              metrics.inboundMessages.inc({ type, result });
              if (lag !== null) metrics.notificationLag.observe({ type }, lag);
            },
          }
        : undefined,
      limits: createMutationLimits({
        mutationsPerDriverPerMinute: config.rateLimits.mutationsPerDriverPerMinute,
        remoteStartsPerMinute: config.rateLimits.remoteStartsPerMinute,
        // Across replicas the budgets must be shared (Hubject's 100/min is for the whole EMP).
        ...(limiterRedis ? { limiter: redisLimiter(limiterRedis, config.redis!.channelPrefix) } : {}),
      }),
    });
    // Upstream calls still running finish and land in the store before it closes.
    closers.push(() => sessions.drain());

    const reconciler = new Reconciler({
      store,
      sessions,
      hubject,
      logger: logger.child({ component: "reconciler" }),
      lostAnswerAfterMs: remoteTimeoutMs + 30_000,
      giveUpAfterMs: config.jobs.reconcileGiveUpMs,
      maxStatusCallsPerRun: config.jobs.reconcileMaxStatusCalls,
      staleAfterMs: config.staleAfterMs,
      waitingMessageGraceMs: 5_000,
    });
    const backfill = new CdrBackfill({
      sessions,
      hubject,
      logger: logger.child({ component: "cdr-backfill" }),
      lookbackMs: config.jobs.cdrBackfillLookbackMs,
    });

    // Ready = this replica can serve: its store and pub/sub answer. Hubject's circuit is reported
    // but does not fail readiness: every replica shares the same Hubject, so taking them all out
    // of the load balancer would only stop reads that still work.
    const readiness = async (): Promise<ReadinessReport> => {
      const checks: Record<string, string> = {};
      let ready = true;
      try {
        await store.get("00000000-0000-0000-0000-000000000000");
        checks.store = "ok";
      } catch {
        ready = false;
        checks.store = "failing";
      }
      try {
        await events.ping();
        checks.pubsub = "ok";
      } catch {
        ready = false;
        checks.pubsub = "failing";
      }
      checks.hubjectCircuit = hubject.circuitState();
      const problem = hubject.configurationProblem();
      if (problem) checks.hubjectConfiguration = problem.kind;
      return { ready, checks };
    };
    const ops = createOpsEndpoints({ readiness, metrics });

    const oicpServer = createOicpListener({
      ops,
      tracer: tracing.tracer,
      onRejected: (operation) => metrics?.inboundMessages.inc({ type: operation, result: "rejected" }),
      sessions,
      logger: logger.child({ component: "oicp" }),
      pathPrefix: config.oicp.pathPrefix,
      maxBodyBytes: config.oicp.maxBodyBytes,
      tls: config.oicp.tls,
      allowedIps: config.oicp.allowedIps,
    });
    const oicpPort = await listen(oicpServer, config.oicp.port, config.oicp.host);
    closers.push(() => {
      oicpServer.dispose();
      return closeServer(oicpServer);
    });
    const oicpUrl = `${oicpServer.scheme}://${displayHost(config.oicp.host)}:${oicpPort}${config.oicp.pathPrefix}`;
    simulator?.setGatewayOicpUrl(`${oicpServer.scheme}://127.0.0.1:${oicpPort}${config.oicp.pathPrefix}`);

    // Status reads of concurrent requests share Hubject calls within a short window.
    const evseStatusSource =
      config.evseStatusWindowMs > 0 ? createSharedEvseStatusWindow(hubject, { windowMs: config.evseStatusWindowMs }) : hubject;

    // The driver's page at /app, in development only (it can sign development tokens).
    const appPage =
      config.env !== "production"
        ? createAppPage({
            env: config.env,
            catalogueUrl: simulator ? new URL("/simulator/catalogue", simulator.url).href : null,
            devTokens:
              config.auth.mode === "secret"
                ? { secret: config.auth.secret, issuer: config.auth.issuer, audience: config.auth.audience }
                : null,
            logger: logger.child({ component: "app-page" }),
          })
        : undefined;

    const schema = await buildGatewaySchema();
    const graphql = await createGraphQLServer({
      schema,
      authenticator: createAuthenticator(config.auth, overrides.authenticator),
      contextFor: (driver, transport) => {
        if (driver) {
          sessions
            .rememberContracts(driver)
            .catch((error: unknown) => logger.warn({ err: error }, "could not record the driver's contracts"));
        }
        // The loaders are made on first use: most requests and most of the (hours-long) websocket
        // subscriptions never need them.
        let evseStatus: GatewayContext["evseStatus"] | undefined;
        let federation: ReturnType<typeof federationLoaders> | undefined;
        return {
          driver,
          sessions,
          events,
          staleAfterMs: config.staleAfterMs,
          // Per HTTP request: cached and batched. Per websocket operation: batched but not cached,
          // so every pushed event shows the EVSE's current status.
          get evseStatus() {
            evseStatus ??= createEvseStatusLoader(evseStatusSource, { cache: transport === "http" });
            return evseStatus;
          },
          // Federation: ChargingSession references, one store.getMany per request, caller's sessions only.
          get sessionReferences() {
            federation ??= federationLoaders(store, driver, transport);
            return federation.sessionReferences;
          },
        };
      },
      sandbox: config.sandbox,
      introspection: config.graphql.introspection,
      execution: config.graphql.execution,
      limits: config.graphql.limits,
      persistedQueries: config.graphql.persistedQueries,
      maxBodyBytes: config.graphql.maxBodyBytes,
      production: config.env === "production",
      logger: logger.child({ component: "graphql" }),
      ops,
      metrics,
      shutdownGraceMs: config.shutdownGraceMs,
      extraRoutes: appPage,
      plugins: [
        ...(tracing.graphqlPlugin ? [tracing.graphqlPlugin] : []),
        // Subgraph plugins: inline ftv1 tracing off; Apollo's HTTP callback subscriptions towards the routers' URLs only.
        ...federationServerPlugins({
          subscriptionCallbackUrls: config.federation.subscriptionCallbackUrls,
          logger: logger.child({ component: "graphql" }),
        }),
      ],
      aroundRequest: tracing.aroundRequest,
    });
    const httpPort = await listen(graphql.server, config.http.port, config.http.host);
    closers.push(async () => {
      await graphql.stop();
      if (graphql.server.listening) await closeServer(graphql.server);
    });
    const host = displayHost(config.http.host);

    // Jobs start last and stop first: they use everything above. One replica at a time runs them.
    const leader = createLeaderLease(config.databaseUrl, "background-jobs", logger.child({ component: "leader" }));
    closers.push(() => leader.close());
    const jobs = startJobs(
      [
        { name: "reconcile", intervalMs: config.jobs.reconcileIntervalMs, run: () => reconciler.run() },
        { name: "cdr-backfill", intervalMs: config.jobs.cdrBackfillIntervalMs, run: () => backfill.run() },
      ],
      logger.child({ component: "jobs" }),
      { shouldRun: () => leader.isLeader() },
    );
    closers.push(() => jobs.stop());

    return {
      graphqlUrl: `http://${host}:${httpPort}${GRAPHQL_PATH}`,
      websocketUrl: `ws://${host}:${httpPort}${GRAPHQL_PATH}`,
      oicpUrl,
      simulator,
      store,
      metrics,
      readiness,
      jobs,
      reconciler,
      cdrBackfill: backfill,
      hubject,
      logger,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** Shared limits in Redis; if Redis is unreachable, each replica limits on its own until it is back. */
function redisLimiter(client: Redis, prefix: string) {
  return (points: number, keyPrefix: string) =>
    new RateLimiterRedis({
      storeClient: client,
      points,
      duration: 60,
      keyPrefix: `${prefix}${keyPrefix}`,
      insuranceLimiter: new RateLimiterMemory({ points, duration: 60, keyPrefix }),
    });
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const displayHost = (host: string) => (host === "0.0.0.0" || host === "::" ? "localhost" : host);
