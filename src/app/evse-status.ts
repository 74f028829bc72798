// Step: the one reader of EVSE statuses (src/evse-status): the EMP-wide PullEvseStatusById budget
// and the status cache, both in Redis when several replicas share them, and each driver's limit.
import { RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "../config/config.js";
import { type CallBudget, memoryBudget, redisBudget } from "../evse-status/budget.js";
import { memoryStatusCache, redisStatusCache } from "../evse-status/status-cache.js";
import { type EvseReadOptions, EvseStatusReader, type EvseStatusReaderOptions } from "../evse-status/status-reader.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { EvseStatusSource } from "../sessions/ports.js";
import type { LimitsStep } from "./limits.js";

export interface EvseStatusStep {
  reader: EvseStatusReader;
  /** The driver's own limit on reads that need Hubject, for the per-request loaders. */
  driverLimit(driverId: string): NonNullable<EvseReadOptions["mayCallHubject"]>;
}

export function createEvseStatus(
  config: Config,
  deps: {
    hubject: EvseStatusSource;
    limits: LimitsStep;
    metrics: GatewayMetrics | null;
    logger: Logger;
    onObserved?: EvseStatusReaderOptions["onObserved"];
  },
): EvseStatusStep {
  const { limits, metrics } = deps;
  const logger = deps.logger.child({ component: "evse-status" });
  const settings = config.evseStatus;
  const budget: CallBudget = limits.redis
    ? redisBudget({
        redis: limits.redis,
        key: `${limits.prefix}hubject-budget:PullEvseStatusById`,
        callsPerMinute: settings.callsPerMinute,
        logger,
      })
    : memoryBudget(settings.callsPerMinute);
  const cache = limits.redis
    ? redisStatusCache({ redis: limits.redis, prefix: `${limits.prefix}evse-status:`, keepMs: settings.staleMaxMs, logger })
    : memoryStatusCache({ keepMs: settings.staleMaxMs });
  const reader = new EvseStatusReader({
    source: deps.hubject,
    budget,
    cache,
    freshMs: settings.cacheMs,
    windowMs: settings.windowMs,
    logger,
    ...(deps.onObserved ? { onObserved: deps.onObserved } : {}),
    ...(metrics ? { observe: (source, count) => count > 0 && metrics.evseStatusReads.inc({ source }, count) } : {}),
  });
  const perDriver = limits.limiter(settings.readsPerDriverPerMinute, "driver-evse-reads");
  return {
    reader,
    driverLimit: (driverId) => async () => {
      try {
        await perDriver.consume(driverId);
        return { allowed: true };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterMs: rejection.msBeforeNext };
        // The counter's store failed: not the driver's fault; the EMP-wide budget still holds.
        logger.warn({ err: rejection }, "the driver's EVSE read limit could not be checked");
        return { allowed: true };
      }
    },
  };
}
