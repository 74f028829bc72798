// Step: the session use cases on their adapters: the fan-out (Redis when several replicas share
// the sessions, in-process otherwise), the rate limits (limits.ts), the OICP reader.
import type { Config } from "../config/config.js";
import type { Logger } from "../logger.js";
import { type GatewayMetrics, sessionMetrics } from "../observability/metrics.js";
import { oicpInboundReader } from "../oicp/inbound/parse.js";
import { createInProcessSessionEvents } from "../pubsub/in-process.js";
import { createRedisSessionEvents } from "../pubsub/redis.js";
import { createMutationLimits } from "../server/rate-limits.js";
import type { CdrSource, ChargerIdentities, EvseStatusSource, ProductOffers, RemoteCharging, SessionEvents } from "../sessions/ports.js";
import { SessionService } from "../sessions/session.service.js";
import type { SessionStore } from "../sessions/session.store.js";
import type { Closers } from "./lifecycle.js";
import type { LimitsStep } from "./limits.js";

export function createSessionEvents(
  config: Config,
  deps: { store: Pick<SessionStore, "changedSince">; metrics: GatewayMetrics | null; logger: Logger; closers: Closers },
): SessionEvents {
  const eventsLogger = deps.logger.child({ component: "session-events" });
  const events = config.redis
    ? createRedisSessionEvents({
        url: config.redis.url,
        channelPrefix: config.redis.channelPrefix,
        logger: eventsLogger,
        // After a Redis outage, what subscribers missed comes from the store (pubsub/catch-up.ts).
        changedSince: (since, limit) => deps.store.changedSince(since, limit),
      })
    : createInProcessSessionEvents({ logger: eventsLogger });
  if (deps.metrics && events.degraded) deps.metrics.watchPubsub(events.degraded.bind(events));
  deps.closers.push(() => events.close()); // runs after the servers stopped and in-flight calls settled
  return events;
}

export function createSessions(
  config: Config,
  deps: {
    store: SessionStore;
    hubject: RemoteCharging & CdrSource;
    /** EVSE statuses through the budgeted reader (src/evse-status), fresh only. */
    statuses: EvseStatusSource;
    limits: LimitsStep;
    events: SessionEvents;
    holders: ChargerIdentities;
    offers?: ProductOffers;
    remoteTimeoutMs: number;
    metrics: GatewayMetrics | null;
    logger: Logger;
    closers: Closers;
  },
): SessionService {
  const { logger, closers } = deps;
  const sessions = new SessionService({
    store: deps.store,
    hubject: deps.hubject,
    cdrs: deps.hubject,
    statuses: deps.statuses,
    events: deps.events,
    reader: oicpInboundReader,
    holders: deps.holders,
    ...(deps.offers ? { offers: deps.offers } : {}),
    logger,
    matchWindowMs: config.sessionMatchWindowMs,
    mutationWaitMs: config.mutationWaitMs,
    joinTimeoutMs: deps.remoteTimeoutMs + 5_000,
    ...(deps.metrics ? { metrics: sessionMetrics(deps.metrics) } : {}),
    limits: createMutationLimits({
      mutationsPerDriverPerMinute: config.rateLimits.mutationsPerDriverPerMinute,
      remoteStartsPerMinute: config.rateLimits.remoteStartsPerMinute,
      // Across replicas the budgets must be shared (Hubject's 100/min is for the whole EMP).
      limiter: deps.limits.limiter,
    }),
  });
  // Upstream calls still running finish and land in the store before it closes.
  closers.push(() => sessions.drain());
  return sessions;
}
