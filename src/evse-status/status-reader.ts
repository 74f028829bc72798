// Every EVSE status the gateway reads goes through here: app queries, federation references and
// the reconciler's evidence alike. In order, for the EVSEs asked:
//   1. the shared cache: an entry younger than EVSE_STATUS_CACHE_MS is the answer;
//   2. a read already on its way to Hubject for that EVSE (this process) is joined;
//   3. the rest wait EVSE_STATUS_WINDOW_MS for other requests' EVSEs, go out in calls of at most
//      100, and each call first takes one from the EMP-wide budget (budget.ts);
//   4. when no call can be made (budget spent, Hubject's Retry-After, Hubject failing), an older
//      cached status is served with its age, or the EVSE fails with a retryable reason.
import DataLoader from "dataloader";
import type { Logger } from "../logger.js";
import { MAX_EVSE_IDS_PER_STATUS_PULL } from "../oicp/client/operations/pull-evse-status-by-id.js";
import { evseIdKey } from "../oicp/wire/identifiers.js";
import type { EvseStatusSource } from "../sessions/ports.js";
import type { CallBudget } from "./budget.js";
import type { EvseStatusCache, EvseStatusObservation } from "./status-cache.js";

export type EvseReadFailure = {
  ok: false;
  /** budget-spent: the EMP's PullEvseStatusById budget; driver-limited: the caller's own; unavailable: Hubject failed or asked to wait. */
  reason: "budget-spent" | "driver-limited" | "unavailable";
  /** When asking again may succeed, if known. */
  retryAfterMs: number | null;
};
export type EvseRead = ({ ok: true; fresh: boolean } & EvseStatusObservation) | EvseReadFailure;

export interface EvseReadOptions {
  /** Asked once per read, only when Hubject must be called: the caller's own rate limit. */
  mayCallHubject?: () => Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }>;
  /** Serve an older cached status when no fresh one can be had (default true; evidence says false). */
  allowStale?: boolean;
}

/** Where a status came from, for the metric. */
export type EvseReadSource = "cache" | "hubject" | "stale" | "none";

export interface EvseStatusReaderOptions {
  source: EvseStatusSource;
  budget: CallBudget;
  cache: EvseStatusCache;
  /** An entry this young is served without asking Hubject (EVSE_STATUS_CACHE_MS); 0: always ask, the cache only stands in when no call can be made. */
  freshMs: number;
  /** Ids asked within this window (ms) by any request go to Hubject together (EVSE_STATUS_WINDOW_MS); 0: the same tick only. */
  windowMs: number;
  logger: Logger;
  now?: () => number;
  observe?: (source: EvseReadSource, count: number) => void;
  /** Every status Hubject gave (the catalogue records them and publishes the changes). */
  onObserved?: (statuses: Array<{ evseId: string; status: EvseStatusObservation["status"] }>, at: Date) => void;
}

class CallRefused extends Error {
  constructor(readonly failure: EvseReadFailure) {
    super(`EVSE status not read: ${failure.reason}`);
  }
}

/** Thrown by asSource() readers when an EVSE could not be read fresh. */
export class EvseStatusUnavailableError extends Error {
  constructor(readonly failure: EvseReadFailure) {
    super(`EVSE status unavailable (${failure.reason})`);
  }
}

export class EvseStatusReader {
  private readonly now: () => number;
  private readonly inFlight = new Map<string, Promise<EvseStatusObservation>>();
  private readonly calls: DataLoader<string, EvseStatusObservation, string>;

  constructor(private readonly options: EvseStatusReaderOptions) {
    this.now = options.now ?? Date.now;
    this.calls = new DataLoader<string, EvseStatusObservation, string>((ids) => this.call(ids), {
      cache: false,
      maxBatchSize: MAX_EVSE_IDS_PER_STATUS_PULL,
      ...(options.windowMs > 0 ? { batchScheduleFn: (dispatch: () => void) => setTimeout(dispatch, options.windowMs) } : {}),
    });
  }

  /** A result for every id asked, keyed by the id as asked. Never throws for Hubject's sake. */
  async read(evseIds: readonly string[], options: EvseReadOptions = {}): Promise<Map<string, EvseRead>> {
    const { freshMs, cache } = this.options;
    const spellings = new Map<string, string>();
    for (const id of evseIds) if (!spellings.has(evseIdKey(id))) spellings.set(evseIdKey(id), id);
    const keys = [...spellings.keys()];
    const cached = await cache.getMany(keys);
    const at = this.now();
    const byKey = new Map<string, EvseRead>();
    const missing: string[] = [];
    for (const key of keys) {
      const entry = cached.get(key);
      if (entry && freshMs > 0 && at - entry.observedAt.getTime() <= freshMs) byKey.set(key, { ok: true, fresh: true, ...entry });
      else missing.push(key);
    }
    this.options.observe?.("cache", byKey.size);

    if (missing.length > 0) {
      const permission = options.mayCallHubject ? await options.mayCallHubject() : ({ allowed: true } as const);
      const fetched: Array<EvseStatusObservation | EvseReadFailure> = permission.allowed
        ? await Promise.all(missing.map((key) => this.fetch(key, spellings.get(key)!)))
        : missing.map(() => ({ ok: false, reason: "driver-limited", retryAfterMs: permission.retryAfterMs }));
      let fromHubject = 0;
      let stale = 0;
      missing.forEach((key, i) => {
        const result = fetched[i]!;
        const older = cached.get(key);
        if (!("ok" in result)) {
          byKey.set(key, { ok: true, fresh: true, ...result });
          fromHubject++;
        } else if (older && options.allowStale !== false) {
          byKey.set(key, { ok: true, fresh: false, ...older });
          stale++;
        } else byKey.set(key, result);
      });
      this.options.observe?.("hubject", fromHubject);
      this.options.observe?.("stale", stale);
      this.options.observe?.("none", missing.length - fromHubject - stale);
    }
    return new Map(evseIds.map((id) => [id, byKey.get(evseIdKey(id))!]));
  }

  /** The same reads as a plain source for the session domain: fresh statuses only, or it throws. */
  asSource(): EvseStatusSource {
    return {
      pullEvseStatusById: async (evseIds) => {
        const reads = await this.read(evseIds, { allowStale: false });
        const statuses = new Map<string, EvseStatusObservation["status"]>();
        for (const [id, read] of reads) {
          if (!read.ok) throw new EvseStatusUnavailableError(read);
          statuses.set(id, read.status);
        }
        return statuses;
      },
    };
  }

  private async fetch(key: string, spelling: string): Promise<EvseStatusObservation | EvseReadFailure> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.calls.load(spelling).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    try {
      return await pending;
    } catch (error) {
      if (error instanceof CallRefused) return error.failure;
      const retryAfterMs = (error as { retryAfterMs?: number | null }).retryAfterMs ?? null;
      return { ok: false, reason: "unavailable", retryAfterMs };
    }
  }

  /** One PullEvseStatusById call for up to 100 EVSEs, if the budget has one. */
  private async call(evseIds: readonly string[]): Promise<Array<EvseStatusObservation | Error>> {
    const decision = await this.options.budget.take();
    if (!decision.granted) {
      this.options.logger.debug({ evses: evseIds.length, retryAfterMs: decision.retryAfterMs }, "EVSE status budget spent: no call");
      const refused = new CallRefused({ ok: false, reason: "budget-spent", retryAfterMs: decision.retryAfterMs });
      return evseIds.map(() => refused);
    }
    try {
      const statuses = await this.options.source.pullEvseStatusById(evseIds);
      const observedAt = new Date(this.now());
      const observations = evseIds.map((id) => ({ status: statuses.get(id) ?? "Unknown", observedAt }) as EvseStatusObservation);
      await this.options.cache.setMany(new Map(evseIds.map((id, i) => [evseIdKey(id), observations[i]!])));
      this.options.onObserved?.(
        evseIds.map((evseId, i) => ({ evseId, status: observations[i]!.status })),
        observedAt,
      );
      return observations;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return evseIds.map(() => failure);
    }
  }
}
