// The catch-up after a fan-out outage, on its own: what it reads, how it pages, and that a store
// it cannot read ends in the "resume" signal rather than in silence.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { OutageCatchUp } from "../../src/pubsub/catch-up.js";
import type { ChargingSession } from "../../src/sessions/session.js";
import { fullSession } from "./session-events.support.js";

const logger = createLogger({ level: "silent" });
const at = (ms: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, 0) + ms);
const changed = (n: number, from = 0, sameInstant = false) =>
  Array.from({ length: n }, (_, i) => fullSession(2, { id: `s-${from + i}`, updatedAt: at(sameInstant ? from : from + i) }));

/** A store of changes ordered by updatedAt, read as the SQL store reads (at or after `since`, oldest first). */
function storeOf(sessions: ChargingSession[]) {
  const reads: Array<{ since: Date; limit: number }> = [];
  return {
    reads,
    changedSince: async (since: Date, limit: number) => {
      reads.push({ since, limit });
      return sessions.filter((s) => s.updatedAt.getTime() >= since.getTime()).slice(0, limit);
    },
  };
}

describe("OutageCatchUp", () => {
  it("reads from the outage's start minus the margin, in pages, and hands every change on", async () => {
    const store = storeOf(changed(7));
    const handed: string[] = [];
    let now = at(10_000).getTime();
    const catchUp = new OutageCatchUp({
      ...store,
      redeliver: (s) => handed.push(s.id),
      logger,
      marginMs: 10_000,
      pageSize: 3,
      now: () => now,
    });
    expect(catchUp.degraded).toBe(false);
    catchUp.noteOutage();
    now += 5_000;
    catchUp.noteOutage(); // the outage began at the first note
    expect(catchUp.degraded).toBe(true);
    await catchUp.recovered();
    expect(store.reads[0]).toEqual({ since: at(0), limit: 3 });
    expect(new Set(handed)).toEqual(new Set(changed(7).map((s) => s.id)));
    expect(catchUp.degraded).toBe(false);
  });

  it("does nothing without an outage, and reads a page again larger when it ends where it began", async () => {
    const store = storeOf(changed(5, 0, true));
    const handed = new Set<string>();
    const catchUp = new OutageCatchUp({
      ...store,
      redeliver: (s) => handed.add(s.id),
      logger,
      marginMs: 0,
      pageSize: 2,
      now: () => at(0).getTime(),
    });
    await catchUp.recovered();
    expect(store.reads).toEqual([]);
    catchUp.noteOutage();
    await catchUp.recovered();
    expect(handed.size).toBe(5);
  });

  it("when the store cannot be read, retries, then tells its listeners that changes were lost", async () => {
    const lost: string[] = [];
    let attempts = 0;
    const catchUp = new OutageCatchUp({
      changedSince: async () => {
        attempts++;
        throw new Error("the session store is unavailable");
      },
      redeliver: () => undefined,
      logger,
      attempts: 3,
      retryDelayMs: 1,
    });
    catchUp.onLost((reason) => lost.push(reason));
    catchUp.noteOutage();
    await catchUp.recovered();
    expect(attempts).toBe(3);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/could not be read from the store/);
  });
});
