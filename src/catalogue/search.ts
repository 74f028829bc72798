// Search: charging stations near a point, ordered by distance (then station id), filtered, in
// pages with an opaque cursor. The store narrows by grid cells and a bounding box (indexed on
// both engines); the exact distance, the filters on lists and the grouping by station are here.
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import {
  boundingBox,
  type CatalogueAddress,
  type CatalogueEntry,
  type Coordinates,
  cellsOf,
  distanceKm,
  type OpeningTime,
} from "./catalogue.js";
import type { CatalogueStore } from "./ports.js";

export const SEARCH_LIMITS = Object.freeze({ maxRadiusKm: 50, maxFirst: 50, defaultFirst: 20 });

export interface StationFilter {
  /** Any of these plugs (names as OICP spells them). */
  plugs?: readonly string[] | null;
  minPowerKw?: number | null;
  onlyAvailable?: boolean | null;
  operatorIds?: readonly string[] | null;
  authenticationModes?: readonly string[] | null;
  paymentOptions?: readonly string[] | null;
}

export interface StationSearch {
  near: Coordinates;
  radiusKm: number;
  filter?: StationFilter | null;
  first?: number | null;
  after?: string | null;
}

export interface ChargingStation {
  id: string;
  name: string;
  operatorId: string;
  operatorName: string;
  address: CatalogueAddress;
  latitude: number;
  longitude: number;
  accessibility: string;
  isOpen24Hours: boolean;
  openingTimes: OpeningTime[];
  authenticationModes: string[];
  distanceKm: number;
  evses: CatalogueEntry[];
}

export interface StationPage {
  stations: ChargingStation[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export class SearchArgumentError extends Error {
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(message);
  }
}

const AVAILABLE: OicpEvseStatus = "Available";

export function checkSearch(search: StationSearch): void {
  const { near, radiusKm } = search;
  if (!Number.isFinite(near.latitude) || Math.abs(near.latitude) > 90)
    throw new SearchArgumentError("near.latitude", "latitude must be within -90..90");
  if (!Number.isFinite(near.longitude) || Math.abs(near.longitude) > 180) {
    throw new SearchArgumentError("near.longitude", "longitude must be within -180..180");
  }
  if (!Number.isFinite(radiusKm) || radiusKm <= 0 || radiusKm > SEARCH_LIMITS.maxRadiusKm) {
    throw new SearchArgumentError("radiusKm", `radiusKm must be above 0 and at most ${SEARCH_LIMITS.maxRadiusKm}`);
  }
  const first = search.first ?? SEARCH_LIMITS.defaultFirst;
  if (!Number.isInteger(first) || first < 1 || first > SEARCH_LIMITS.maxFirst) {
    throw new SearchArgumentError("first", `first must be between 1 and ${SEARCH_LIMITS.maxFirst}`);
  }
  const min = search.filter?.minPowerKw;
  if (min != null && (!Number.isFinite(min) || min < 0)) throw new SearchArgumentError("filter.minPowerKw", "minPowerKw must be >= 0");
  if (search.after != null && decodeCursor(search.after) === null)
    throw new SearchArgumentError("after", "after is not a cursor of this search");
}

export async function searchStations(store: CatalogueStore, search: StationSearch): Promise<StationPage> {
  checkSearch(search);
  const filter = search.filter ?? {};
  const box = boundingBox(search.near, search.radiusKm);
  const candidates = await store.candidates({
    cells: cellsOf(box),
    box,
    minPowerKw: filter.minPowerKw ?? null,
    operatorIds: filter.operatorIds && filter.operatorIds.length > 0 ? filter.operatorIds : null,
    onlyAvailable: filter.onlyAvailable === true,
  });
  const anyOf = (wanted: readonly string[] | null | undefined, have: readonly string[]) =>
    !wanted || wanted.length === 0 || wanted.some((w) => have.includes(w));
  const stations = new Map<string, ChargingStation>();
  for (const evse of candidates) {
    if (!anyOf(filter.plugs, evse.plugs)) continue;
    if (!anyOf(filter.authenticationModes, evse.authenticationModes)) continue;
    if (!anyOf(filter.paymentOptions, evse.paymentOptions)) continue;
    if (filter.onlyAvailable && evse.status?.status !== AVAILABLE) continue;
    if (filter.minPowerKw != null && evse.maxPowerKw < filter.minPowerKw) continue;
    const key = `${evse.operatorId}|${evse.stationId}`;
    let station = stations.get(key);
    if (!station) {
      const d = distanceKm(search.near, evse);
      if (d > search.radiusKm) continue;
      station = {
        id: evse.stationId,
        name: evse.stationName,
        operatorId: evse.operatorId,
        operatorName: evse.operatorName,
        address: evse.address,
        latitude: evse.latitude,
        longitude: evse.longitude,
        accessibility: evse.accessibility,
        isOpen24Hours: evse.isOpen24Hours,
        openingTimes: evse.openingTimes,
        authenticationModes: evse.authenticationModes,
        distanceKm: d,
        evses: [],
      };
      stations.set(key, station);
    }
    station.evses.push(evse);
  }
  const sorted = [...stations.values()].sort((a, b) => a.distanceKm - b.distanceKm || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const after = search.after ? decodeCursor(search.after) : null;
  const start = after ? sorted.findIndex((s) => s.distanceKm > after.d || (s.distanceKm === after.d && s.id > after.id)) : 0;
  const first = search.first ?? SEARCH_LIMITS.defaultFirst;
  const from = start === -1 ? sorted.length : start;
  const page = sorted.slice(from, from + first);
  for (const station of page) station.evses.sort((a, b) => (a.evseId < b.evseId ? -1 : 1));
  const lastStation = page.at(-1);
  return {
    stations: page,
    endCursor: lastStation ? encodeCursor(lastStation) : null,
    hasNextPage: from + first < sorted.length,
  };
}

const encodeCursor = (station: ChargingStation) =>
  Buffer.from(JSON.stringify({ d: station.distanceKm, id: station.id }), "utf8").toString("base64url");

function decodeCursor(cursor: string): { d: number; id: string } | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { d?: unknown; id?: unknown };
    return typeof value.d === "number" && typeof value.id === "string" ? { d: value.d, id: value.id } : null;
  } catch {
    return null;
  }
}
