// The pricing sync (docs/oicp.md#pricing), run by the leader's background job: a full load of
// both pulls first, then `LastCall` deltas; a full load again every fullEveryMs, since the answers
// carry no delete marker. Sequential calls, at most callsPerMinute per operation (Hubject allows
// 300 PullPricingProductData and 280 PullEVSEPricing a minute, docs/oicp.md#rate-limits). A failed
// call (a 429 included) ends the run and keeps the sync state, so the next run repeats what did
// not land; the client does not send again before Hubject's Retry-After (hubject.client.ts).
import type { Logger } from "../logger.js";
import type { PricingOperators, PricingPull, PricingSource, PricingStore } from "./ports.js";

export interface PricingSyncDeps {
  source: PricingSource;
  store: PricingStore;
  operators: PricingOperators;
  logger: Pick<Logger, "info" | "warn" | "debug">;
  /** A full load again after this long (deltas in between). */
  fullEveryMs: number;
  callsPerMinute: { "pricing-products": number; "evse-pricing": number };
  /** OperatorIDs per request. */
  operatorsPerCall: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface PricingSyncRun {
  pull: PricingPull;
  mode: "full" | "delta" | "skipped";
  records: number;
  skipped: number;
  error?: string;
}

const WINDOW_MS = 60_000;

export class PricingSync {
  private readonly calls: Record<PricingPull, number[]> = { "pricing-products": [], "evse-pricing": [] };
  private readonly clock: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: PricingSyncDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
  }

  async run(): Promise<PricingSyncRun[]> {
    const operatorIds = [...new Set(await this.deps.operators())];
    if (operatorIds.length === 0) {
      this.deps.logger.debug({}, "pricing sync: no operators to ask about");
      return [];
    }
    const products = await this.pull("pricing-products", operatorIds);
    // EVSE lists name products: pulled after them, and only when they landed.
    const evses = products.error
      ? { pull: "evse-pricing" as const, mode: "skipped" as const, records: 0, skipped: 0 }
      : await this.pull("evse-pricing", operatorIds);
    return [products, evses];
  }

  private async pull(pull: PricingPull, operatorIds: string[]): Promise<PricingSyncRun> {
    const state = await this.deps.store.syncState(pull);
    const now = this.clock();
    const full =
      state.lastCall === null || state.lastFullAt === null || now.getTime() - state.lastFullAt.getTime() >= this.deps.fullEveryMs;
    const lastCall = full ? null : state.lastCall;
    const batches: string[][] = [];
    for (let i = 0; i < operatorIds.length; i += this.deps.operatorsPerCall)
      batches.push(operatorIds.slice(i, i + this.deps.operatorsPerCall));
    const run: PricingSyncRun = { pull, mode: full ? "full" : "delta", records: 0, skipped: 0 };
    // The instant the first request went: what the next delta's LastCall asks from.
    const startedAt = this.clock();
    try {
      for (const [i, batch] of batches.entries()) {
        await this.paced(pull);
        const mode = { full, operatorIds: batch, at: startedAt, recordSync: i === batches.length - 1 };
        if (pull === "pricing-products") {
          const answer = await this.deps.source.pullPricingProductData(batch, lastCall);
          await this.deps.store.saveProducts(answer.operators, mode);
          run.records += answer.operators.reduce((n, o) => n + o.products.length, 0);
          run.skipped += answer.skipped.length;
        } else {
          const answer = await this.deps.source.pullEvsePricing(batch, lastCall);
          await this.deps.store.saveEvseProducts(answer.evses, mode);
          run.records += answer.evses.length;
          run.skipped += answer.skipped.length;
        }
      }
      this.deps.logger.info({ ...run, operators: operatorIds.length }, "pricing sync done");
    } catch (error) {
      run.error = error instanceof Error ? error.message : String(error);
      this.deps.logger.warn({ ...run, err: error }, "pricing sync stopped; the next run repeats it");
    }
    return run;
  }

  /** Waits until one more call fits in the last minute's budget of this operation. */
  private async paced(pull: PricingPull): Promise<void> {
    const times = this.calls[pull];
    for (;;) {
      const now = this.clock().getTime();
      while (times.length > 0 && times[0]! <= now - WINDOW_MS) times.shift();
      if (times.length < this.deps.callsPerMinute[pull]) {
        times.push(now);
        return;
      }
      await this.sleep(times[0]! + WINDOW_MS - now);
    }
  }
}
