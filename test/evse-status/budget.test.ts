// The EMP-wide call budget: a sliding log, so that no sixty seconds ever hold more calls than
// allowed; in Redis shared by every replica, and closed when Redis cannot be asked.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { BUDGET_WINDOW_MS, memoryBudget, redisBudget } from "../../src/evse-status/budget.js";
import { createLogger } from "../../src/logger.js";
import { REDIS_URL } from "../support/redis.js";

const logger = createLogger({ level: "silent" });

describe("memoryBudget", () => {
  it("grants the budget, then says when the oldest call leaves the window", async () => {
    let now = 1_000_000;
    const budget = memoryBudget(3, () => now);
    for (let i = 0; i < 3; i++) {
      expect(await budget.take()).toEqual({ granted: true });
      now += 10_000;
    }
    expect(await budget.take()).toEqual({ granted: false, retryAfterMs: 30_000 });
    now += 30_000; // the first call is 60 s old: its place is free again, and only its place
    expect(await budget.take()).toEqual({ granted: true });
    expect(await budget.take()).toEqual({ granted: false, retryAfterMs: 10_000 });
  });

  it("never lets a sixty-second span hold more calls than the budget, at a window's edge either", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 400 }),
        async (perMinute, gaps) => {
          let now = 0;
          const budget = memoryBudget(perMinute, () => now);
          const granted: number[] = [];
          for (const gap of gaps) {
            now += gap;
            if ((await budget.take()).granted) granted.push(now);
          }
          // Any span of 60 s starting at a granted call holds at most perMinute granted calls.
          for (const start of granted) {
            expect(granted.filter((t) => t >= start && t < start + BUDGET_WINDOW_MS).length).toBeLessThanOrEqual(perMinute);
          }
        },
      ),
    );
  });
});

describe("redisBudget", () => {
  const clients: Redis[] = [];
  const connect = (url = REDIS_URL) => {
    const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: url !== REDIS_URL });
    client.on("error", () => undefined);
    clients.push(client);
    return client;
  };
  afterAll(() => {
    for (const client of clients) client.disconnect();
  });

  it("two replicas take from one budget", async () => {
    const key = `test:budget:${randomUUID()}`;
    const a = redisBudget({ redis: connect(), key, callsPerMinute: 5, logger });
    const b = redisBudget({ redis: connect(), key, callsPerMinute: 5, logger });
    const decisions = await Promise.all([a.take(), b.take(), a.take(), b.take(), a.take(), b.take(), a.take()]);
    expect(decisions.filter((d) => d.granted)).toHaveLength(5);
    const refused = decisions.filter((d) => !d.granted) as Array<{ retryAfterMs: number }>;
    expect(refused).toHaveLength(2);
    for (const decision of refused) {
      expect(decision.retryAfterMs).toBeGreaterThan(50_000);
      expect(decision.retryAfterMs).toBeLessThanOrEqual(BUDGET_WINDOW_MS);
    }
  });

  it("grants nothing when Redis cannot be asked", async () => {
    const budget = redisBudget({ redis: connect("redis://127.0.0.1:1"), key: "test:budget:down", callsPerMinute: 300, logger });
    expect(await budget.take()).toMatchObject({ granted: false });
  });
});
