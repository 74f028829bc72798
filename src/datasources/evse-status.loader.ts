// Batches EVSE status look-ups of one GraphQL request into PullEvseStatusByID calls of at most
// 100 ids each (docs/oicp.md#evse-status, 300 calls/min). Create one loader per request: the cache lives
// exactly as long as the request, so a status is never served stale across requests.
// `cache: false` (e.g. one loader per websocket operation) still batches within a tick and still
// sends each id once per call (the datasource de-duplicates), but asks again on every tick.
import DataLoader from "dataloader";
import { MAX_EVSE_IDS_PER_STATUS_PULL } from "../oicp/client/operations/pull-evse-status-by-id.js";
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import type { EvseStatusSource } from "../sessions/ports.js";

export interface EvseStatusLoaderOptions {
  /** Default true: one cached loader per GraphQL request. */
  cache?: boolean;
}

export function createEvseStatusLoader(ds: EvseStatusSource, options: EvseStatusLoaderOptions = {}): DataLoader<string, OicpEvseStatus> {
  return new DataLoader<string, OicpEvseStatus, string>(
    async (evseIds) => {
      // A rejection (not per-key Error values) so DataLoader does not cache the failure:
      // every key of the batch rejects with the same HubjectError, and a later load may retry.
      const statuses = await ds.pullEvseStatusById(evseIds);
      return evseIds.map((id) => statuses.get(id) ?? "Unknown");
    },
    {
      maxBatchSize: MAX_EVSE_IDS_PER_STATUS_PULL,
      cache: options.cache ?? true,
      // EvseIDs compare case-insensitively (docs/oicp.md#e11); the first spelling seen is sent.
      cacheKeyFn: (evseId) => evseId.toUpperCase(),
    },
  );
}

/**
 * Coalesces EVSE status reads of concurrent requests: ids asked for within `windowMs` go to
 * Hubject together, in calls of at most 100. Safe to share across drivers: an EVSE's status is
 * the same for everyone and the read is idempotent; nothing is cached beyond the window.
 * Trade-off: each read waits up to `windowMs` longer, in exchange for far fewer calls against
 * Hubject's 300 PullEvseStatusById calls a minute (docs/oicp.md#rate-limits).
 */
export function createSharedEvseStatusWindow(ds: EvseStatusSource, options: { windowMs: number }): EvseStatusSource {
  const shared = new DataLoader<string, OicpEvseStatus, string>(
    async (evseIds) => {
      const statuses = await ds.pullEvseStatusById(evseIds);
      return evseIds.map((id) => statuses.get(id) ?? "Unknown");
    },
    {
      cache: false,
      maxBatchSize: MAX_EVSE_IDS_PER_STATUS_PULL,
      batchScheduleFn: (dispatch) => setTimeout(dispatch, options.windowMs),
    },
  );
  return {
    async pullEvseStatusById(evseIds) {
      const results = await shared.loadMany(evseIds);
      const statuses = new Map<string, OicpEvseStatus>();
      results.forEach((result, i) => {
        if (result instanceof Error) throw result;
        statuses.set(evseIds[i]!, result);
      });
      return statuses;
    },
  };
}
