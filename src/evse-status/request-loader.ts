// The EVSE statuses one GraphQL request (or one pushed websocket event) reads, batched into one
// read of the shared reader per tick, with two guards that hold whatever shape the request has
// (aliases, `evses(ids)`, `ChargingSession.evse`, federation `_entities`):
//   - at most `maxIds` distinct EVSEs per request (EVSE_MAX_IDS_PER_REQUEST); a batch that would
//     pass the cap fails whole, before anything is read;
//   - the driver's own limit on reads that need Hubject (RATE_LIMIT_EVSE_READS_PER_MINUTE): past
//     it, the request is served from the cache only.
import DataLoader from "dataloader";
import { evseIdKey } from "../oicp/wire/identifiers.js";
import type { EvseStatusObservation } from "./status-cache.js";
import type { EvseReadFailure, EvseReadOptions, EvseStatusReader } from "./status-reader.js";

export type LoadedEvseStatus = EvseStatusObservation & { fresh: boolean };

/** An EVSE whose status could not be had (budget, driver limit, Hubject). */
export class EvseReadError extends Error {
  constructor(readonly failure: EvseReadFailure) {
    super(`EVSE status unavailable (${failure.reason})`);
  }
}

/** The request asked for more distinct EVSEs than allowed. */
export class TooManyEvsesError extends Error {
  constructor(readonly maxIds: number) {
    super(`more than ${maxIds} EVSEs in one request`);
  }
}

export interface EvseStatusLoaderOptions {
  /** true (HTTP): a status is read once per request and the cap counts the whole request. false (websocket): per batch. */
  cache: boolean;
  maxIds: number;
  /** The caller's own limit, asked only when Hubject must be called. */
  mayCallHubject?: EvseReadOptions["mayCallHubject"];
}

export function createEvseStatusLoader(reader: EvseStatusReader, options: EvseStatusLoaderOptions): DataLoader<string, LoadedEvseStatus> {
  const seen = new Set<string>();
  // A failure is not kept: DataLoader would otherwise answer the same EVSE with it for the rest of the request.
  const forget = (evseIds: readonly string[]) =>
    queueMicrotask(() => {
      for (const id of evseIds) loader.clear(id);
    });
  const loader = new DataLoader<string, LoadedEvseStatus, string>(
    async (evseIds) => {
      const scope = options.cache ? seen : new Set<string>();
      const fresh = [...new Set(evseIds.map(evseIdKey))].filter((key) => !scope.has(key));
      if (scope.size + fresh.length > options.maxIds) {
        const refused = new TooManyEvsesError(options.maxIds);
        forget(evseIds);
        return evseIds.map(() => refused);
      }
      for (const key of fresh) scope.add(key);
      const reads = await reader.read(evseIds, options.mayCallHubject ? { mayCallHubject: options.mayCallHubject } : {});
      forget(evseIds.filter((id) => !reads.get(id)!.ok));
      return evseIds.map((id) => {
        const read = reads.get(id)!;
        return read.ok ? { status: read.status, observedAt: read.observedAt, fresh: read.fresh } : new EvseReadError(read);
      });
    },
    // EvseIDs compare without case and with or without `*` (docs/oicp.md#e11): one entry per EVSE.
    { cache: options.cache, cacheKeyFn: evseIdKey },
  );
  return loader;
}
