// Hubject's budget for one operation across the whole EMP (the AUP allows 300 PullEvseStatusById
// calls a minute, docs/oicp.md#rate-limits). A sliding log, not fixed windows: fixed one-minute
// windows let 300 calls at the end of one minute and 300 at the start of the next through, twice
// the budget within sixty seconds. Here no sixty-second span ever holds more than `callsPerMinute`.
//
// With REDIS_URL every replica takes from one log in Redis. If Redis cannot be asked, no call is
// granted (fail closed): replicas counting alone could together overrun the EMP's budget, and a
// refused read still answers from the cache or with a retryable error.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";

export const BUDGET_WINDOW_MS = 60_000;

export type BudgetDecision = { granted: true } | { granted: false; retryAfterMs: number };

export interface CallBudget {
  /** Takes one call from the budget, or says how long until one is free. */
  take(): Promise<BudgetDecision>;
}

/** One process's log: timestamps of the calls granted within the last window. */
export function memoryBudget(callsPerMinute: number, now: () => number = Date.now): CallBudget {
  const granted: number[] = [];
  return {
    async take() {
      const at = now();
      while (granted.length > 0 && granted[0]! <= at - BUDGET_WINDOW_MS) granted.shift();
      if (granted.length < callsPerMinute) {
        granted.push(at);
        return { granted: true };
      }
      return { granted: false, retryAfterMs: granted[0]! + BUDGET_WINDOW_MS - at };
    },
  };
}

// Redis's own clock (TIME) for every replica, so that skewed hosts still share one window.
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
`;

/** The log in Redis, shared by all replicas under `key`. */
export function redisBudget(options: { redis: Redis; key: string; callsPerMinute: number; logger: Logger }): CallBudget {
  const { redis, key, callsPerMinute, logger } = options;
  return {
    async take() {
      try {
        await ready(redis);
        const [granted, waitMs] = (await redis.eval(TAKE_SCRIPT, 1, key, BUDGET_WINDOW_MS, callsPerMinute, randomUUID())) as [
          number,
          number,
        ];
        return granted === 1 ? { granted: true } : { granted: false, retryAfterMs: Math.max(1, waitMs) };
      } catch (error) {
        logger.warn({ err: error, setting: "REDIS_URL" }, "the shared Hubject budget could not be checked in Redis: no call made");
        return { granted: false, retryAfterMs: 1_000 };
      }
    },
  };
}

/** A connection still being made (start-up, a reconnect) is waited for briefly rather than failed. */
async function ready(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status === "ready" || redis.status === "end" || redis.status === "close") return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
  });
}
