// Per-request loaders for federation's entity references. A router resolves a list of sessions
// that another subgraph names (say, the invoices of a month) with ONE _entities call carrying N
// representations; the loader turns those N lookups into one store.getMany.
import DataLoader from "dataloader";
import type { GatewayContext } from "../server/context.js";
import type { ChargingSession, Driver } from "../sessions/session.js";
import type { SessionStore } from "../sessions/session.store.js";

export interface SessionReferenceLoaderOptions {
  /** Default true: one cached loader per HTTP request. */
  cache?: boolean;
}

/**
 * Loads sessions by id for `driver` only: an id that is unknown or belongs to someone else loads
 * as null, the same answer for both, so a reference reveals nothing about other drivers'
 * sessions (not even that they exist). Bound to one caller: never share it between requests.
 */
export function createSessionReferenceLoader(
  store: Pick<SessionStore, "getMany">,
  driver: Driver | null,
  options: SessionReferenceLoaderOptions = {},
): DataLoader<string, ChargingSession | null> {
  return new DataLoader<string, ChargingSession | null>(
    async (ids) => {
      // The resolver refuses anonymous callers before loading; this only keeps the loader safe alone.
      if (!driver) return ids.map(() => null);
      const own = new Map<string, ChargingSession>();
      for (const session of await store.getMany(ids)) {
        if (session.driverId === driver.id) own.set(session.id, session);
      }
      return ids.map((id) => own.get(id) ?? null);
    },
    { cache: options.cache ?? true },
  );
}

/**
 * What contextFor (app.ts) adds to every GatewayContext. HTTP: cached for the request. Websocket:
 * one context per operation that may live for hours, so nothing is cached (as for evseStatus).
 */
export function federationLoaders(
  store: Pick<SessionStore, "getMany">,
  driver: Driver | null,
  transport: "http" | "ws",
): Required<Pick<GatewayContext, "sessionReferences">> {
  return { sessionReferences: createSessionReferenceLoader(store, driver, { cache: transport === "http" }) };
}
