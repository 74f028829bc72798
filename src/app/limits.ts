// Step: the counters behind the rate limits and Hubject's budgets. In-process for one replica;
// with REDIS_URL one Redis connection shared by every limit, so that the budgets Hubject sets
// for the whole EMP hold across replicas.
import { Redis } from "ioredis";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import type { Config } from "../config/config.js";
import type { Logger } from "../logger.js";
import type { Closers } from "./lifecycle.js";

export interface LimitsStep {
  /** The shared connection, or null without REDIS_URL. */
  redis: Redis | null;
  /** Keys in Redis start with this (REDIS_CHANNEL_PREFIX). */
  prefix: string;
  /** A per-minute limiter of `points` under `keyPrefix`, in Redis when set. */
  limiter(points: number, keyPrefix: string): RateLimiterAbstract;
}

export function createLimits(config: Config, logger: Logger, closers: Closers): LimitsStep {
  const prefix = config.redis?.channelPrefix ?? "";
  if (!config.redis) {
    return { redis: null, prefix, limiter: (points, keyPrefix) => new RateLimiterMemory({ points, duration: 60, keyPrefix }) };
  }
  const redis = new Redis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on("error", (error: Error) => logger.debug({ err: error.message }, "rate-limit Redis connection error"));
  closers.push(() => void redis.disconnect());
  return {
    redis,
    prefix,
    // If Redis is unreachable, each replica limits its drivers on its own until it is back.
    limiter: (points, keyPrefix) =>
      new RateLimiterRedis({
        storeClient: redis,
        points,
        duration: 60,
        keyPrefix: `${prefix}${keyPrefix}`,
        insuranceLimiter: new RateLimiterMemory({ points, duration: 60, keyPrefix }),
      }),
  };
}
