// Keeps the catalogue current (docs/oicp.md#evse-data, #rate-limits): a full load once, then
// LastCall deltas; every page is written before the cursor moves past it, so a sync interrupted
// anywhere resumes at the page it stopped on (re-reading a page is harmless: upserts). A 429 or
// another transient failure ends the run with the cursor kept; the job runs it again after
// Hubject's Retry-After. Statuses come from PullEvseStatus (all) and are published when they change.
import type { Logger } from "../logger.js";
import type { EvseStatusChange } from "./catalogue.js";
import type { CatalogueStore, EvseDataSource, EvseStatusEvents, SyncCursor } from "./ports.js";

export const SYNC_NAME = "evse-data";

/**
 * Hubject's recommendations and limits (docs/oicp.md#rate-limits): EVSE data as LastCall deltas,
 * rarely (PullEVSEData 100/min, one call per page); all statuses every 1 to 5 minutes
 * (PullEVSEStatus 6/min). The data job looks every minute whether a pull is due or unfinished.
 */
export const CATALOGUE_DEFAULTS = Object.freeze({
  dataJobIntervalMs: 60_000,
  deltaEveryMs: 60 * 60_000,
  statusIntervalMs: 120_000,
  pageSize: 1_000,
});

export interface SyncOutcome {
  mode: "full" | "delta";
  pages: number;
  upserted: number;
  deleted: number;
  skipped: number;
  /** The pull was interrupted (cursor kept); when Hubject said how long to wait, that wait. */
  interrupted: { retryAfterMs: number | null; error: string } | null;
}

export interface CatalogueSyncOptions {
  store: CatalogueStore;
  source: EvseDataSource;
  events: EvseStatusEvents | null;
  logger: Logger;
  pageSize: number;
  now?: () => Date;
  /** Counts skipped records (metric). */
  onSkipped?: (count: number) => void;
}

export class CatalogueSync {
  private readonly now: () => Date;

  constructor(private readonly options: CatalogueSyncOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * What the job runs every CATALOGUE_JOB_INTERVAL_MS: the full load or an unfinished pull at
   * once, a delta when the last completed pull is older than `deltaEveryMs`.
   */
  async syncDataIfDue(deltaEveryMs: number): Promise<SyncOutcome | null> {
    const cursor = await this.options.store.syncCursor(SYNC_NAME);
    const due =
      !cursor ||
      cursor.mode === "full" ||
      cursor.startedAt !== null ||
      !cursor.lastCall ||
      this.now().getTime() - cursor.lastCall.getTime() >= deltaEveryMs;
    return due ? this.syncData() : null;
  }

  /** One pull of EVSE data (full or delta), from where the last one stopped to its last page. */
  async syncData(): Promise<SyncOutcome> {
    const { store, source, logger, pageSize } = this.options;
    const stored = await store.syncCursor(SYNC_NAME);
    let cursor: SyncCursor = stored ?? { mode: "full", page: 0, startedAt: null, lastCall: null };
    if (cursor.startedAt === null) cursor = { ...cursor, page: 0, startedAt: this.now() };
    const startedAt = cursor.startedAt!;
    const outcome: SyncOutcome = { mode: cursor.mode, pages: 0, upserted: 0, deleted: 0, skipped: 0, interrupted: null };
    for (;;) {
      let page: Awaited<ReturnType<EvseDataSource["pullEvseData"]>>;
      try {
        page = await source.pullEvseData({ page: cursor.page, size: pageSize, lastCall: cursor.mode === "delta" ? cursor.lastCall : null });
      } catch (error) {
        const retryAfterMs = (error as { retryAfterMs?: number | null }).retryAfterMs ?? null;
        outcome.interrupted = { retryAfterMs, error: error instanceof Error ? error.message : String(error) };
        logger.warn(
          { page: cursor.page, mode: cursor.mode, retryAfterMs, err: error },
          "EVSE data pull interrupted: resuming there next run",
        );
        return outcome;
      }
      const at = this.now();
      const upserts = page.records.filter((r) => r.deltaType !== "delete");
      const deletes = [...page.deletedIds, ...page.records.filter((r) => r.deltaType === "delete").map((r) => r.evseId)];
      // Seen at the pull's start: the full load's sweep keeps exactly what this pull delivered.
      await store.upsertEvses(upserts, startedAt);
      if (deletes.length > 0) outcome.deleted += await store.markDeleted(deletes, at);
      outcome.upserted += upserts.length;
      outcome.skipped += page.skipped;
      if (page.skipped > 0) this.options.onSkipped?.(page.skipped);
      outcome.pages++;
      if (page.last) break;
      cursor = { ...cursor, page: cursor.page + 1 };
      await store.saveSyncCursor(SYNC_NAME, cursor);
    }
    if (cursor.mode === "full") outcome.deleted += await store.markDeletedUnseenSince(startedAt, this.now());
    await store.saveSyncCursor(SYNC_NAME, { mode: "delta", page: 0, startedAt: null, lastCall: startedAt });
    logger.info({ ...outcome, interrupted: undefined }, "EVSE data pulled");
    return outcome;
  }

  /** PullEvseStatus (all, or by operator): stores and publishes what changed. */
  async syncStatus(operatorIds?: readonly string[]): Promise<EvseStatusChange[]> {
    const statuses = await this.options.source.pullEvseStatus(operatorIds);
    const changes = await this.options.store.applyStatuses(statuses, this.now());
    if (changes.length > 0) this.options.events?.publish(changes);
    return changes;
  }
}
