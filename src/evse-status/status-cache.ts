// A short cache of EVSE statuses, shared by every request (and, with Redis, every replica): many
// apps asking for one EVSE make one Hubject call. An entry is fresh for EVSE_STATUS_CACHE_MS and
// kept as a stale fallback for EVSE_STATUS_STALE_MAX_MS, for when the budget is spent or Hubject
// cannot answer; readers are told its age either way.
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { OICP_EVSE_STATUSES, type OicpEvseStatus } from "../oicp/wire/types.js";

export interface EvseStatusObservation {
  status: OicpEvseStatus;
  /** When Hubject gave this status to the gateway. */
  observedAt: Date;
}

/** Keys are evseIdKey(...) values: one entry per EVSE however its id is written. */
export interface EvseStatusCache {
  getMany(keys: readonly string[]): Promise<Map<string, EvseStatusObservation>>;
  setMany(entries: ReadonlyMap<string, EvseStatusObservation>): Promise<void>;
}

/** In-process, bounded: the least recently written entries go first. */
export function memoryStatusCache(options: { keepMs: number; maxEntries?: number; now?: () => number }): EvseStatusCache {
  const { keepMs, maxEntries = 100_000, now = Date.now } = options;
  const entries = new Map<string, EvseStatusObservation>();
  return {
    async getMany(keys) {
      const found = new Map<string, EvseStatusObservation>();
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry === undefined) continue;
        if (now() - entry.observedAt.getTime() > keepMs) entries.delete(key);
        else found.set(key, entry);
      }
      return found;
    },
    async setMany(written) {
      for (const [key, entry] of written) {
        entries.delete(key);
        entries.set(key, entry);
      }
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
  };
}

/** In Redis under `${prefix}${key}`, expiring after keepMs. A Redis failure reads as a miss and skips the write. */
export function redisStatusCache(options: { redis: Redis; prefix: string; keepMs: number; logger: Logger }): EvseStatusCache {
  const { redis, prefix, keepMs, logger } = options;
  return {
    async getMany(keys) {
      const found = new Map<string, EvseStatusObservation>();
      if (keys.length === 0) return found;
      try {
        const values = await redis.mget(keys.map((key) => prefix + key));
        values.forEach((value, i) => {
          const entry = value === null ? null : decode(value);
          if (entry) found.set(keys[i]!, entry);
        });
      } catch (error) {
        logger.debug({ err: error }, "EVSE status cache unreachable in Redis: reading from Hubject");
      }
      return found;
    },
    async setMany(written) {
      if (written.size === 0) return;
      const pipeline = redis.pipeline();
      for (const [key, entry] of written) {
        pipeline.set(prefix + key, JSON.stringify({ s: entry.status, t: entry.observedAt.getTime() }), "PX", keepMs);
      }
      try {
        await pipeline.exec();
      } catch (error) {
        logger.debug({ err: error }, "EVSE status cache unreachable in Redis: not cached");
      }
    },
  };
}

function decode(value: string): EvseStatusObservation | null {
  try {
    const { s, t } = JSON.parse(value) as { s: unknown; t: unknown };
    if (typeof s !== "string" || !(OICP_EVSE_STATUSES as readonly string[]).includes(s) || typeof t !== "number") return null;
    return { status: s as OicpEvseStatus, observedAt: new Date(t) };
  } catch {
    return null;
  }
}
