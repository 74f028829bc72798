// The EVSE catalogue's domain: what the gateway knows of every EVSE reachable through Hubject
// (docs/oicp.md#evse-data), read from eRoamingPullEvseData and kept current by the status pulls
// (docs/oicp.md#evse-status). Plain data, no I/O.
import type { OicpEvseStatus } from "../oicp/wire/types.js";

export interface CatalogueAddress {
  country: string;
  city: string;
  street: string;
  postalCode: string;
  houseNum: string;
}

export interface ChargingFacility {
  /** AC_1_PHASE, AC_3_PHASE, DC, or what the CPO sent (open enum). */
  powerType: string;
  /** kW; decimals occur (docs/oicp.md#e16). */
  powerKw: number;
}

/** OpeningTimes as the wire has them: `on` and `Period[]` (docs/oicp.md#e14). */
export interface OpeningTime {
  on: string;
  periods: Array<{ begin: string; end: string }>;
}

export interface CatalogueEvse {
  evseId: string;
  operatorId: string;
  operatorName: string;
  /** ChargingStationID, else the EvseID without its last segment (a station groups its EVSEs). */
  stationId: string;
  stationName: string;
  address: CatalogueAddress;
  latitude: number;
  longitude: number;
  /** Plug names as sent: unknown values are kept verbatim (open enum). */
  plugs: string[];
  facilities: ChargingFacility[];
  /** The largest facility's power, kW. */
  maxPowerKw: number;
  authenticationModes: string[];
  paymentOptions: string[];
  accessibility: string;
  isOpen24Hours: boolean;
  openingTimes: OpeningTime[];
  isHubjectCompatible: boolean;
  lastUpdate: Date | null;
}

export interface CatalogueStatus {
  status: OicpEvseStatus;
  observedAt: Date;
}

export type CatalogueEntry = CatalogueEvse & { status: CatalogueStatus | null };

/** One status that changed, as published on evseStatusChanged. */
export interface EvseStatusChange {
  evseId: string;
  status: OicpEvseStatus;
  observedAt: Date;
}

export interface Coordinates {
  latitude: number;
  longitude: number;
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance (haversine), km. */
export function distanceKm(a: Coordinates, b: Coordinates): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The geo index both engines can use without extensions: a grid of GRID_DEGREES cells, one
 * integer per cell, indexed. A search reads the cells its bounding box touches, then the exact
 * distance is computed in code.
 */
export const GRID_DEGREES = 0.1;
const LON_CELLS = Math.round(360 / GRID_DEGREES);

export function gridCell(latitude: number, longitude: number): number {
  const row = Math.floor((latitude + 90) / GRID_DEGREES);
  const column = Math.floor((longitude + 180) / GRID_DEGREES) % LON_CELLS;
  return row * LON_CELLS + column;
}

export interface BoundingBox {
  minLatitude: number;
  maxLatitude: number;
  minLongitude: number;
  maxLongitude: number;
}

export function boundingBox(center: Coordinates, radiusKm: number): BoundingBox {
  const dLat = (radiusKm / EARTH_RADIUS_KM) * (180 / Math.PI);
  const cos = Math.max(0.01, Math.cos((center.latitude * Math.PI) / 180));
  const dLon = Math.min(180, dLat / cos);
  return {
    minLatitude: Math.max(-90, center.latitude - dLat),
    maxLatitude: Math.min(90, center.latitude + dLat),
    minLongitude: center.longitude - dLon,
    maxLongitude: center.longitude + dLon,
  };
}

/** Every grid cell the box touches (longitudes wrapped at ±180). */
export function cellsOf(box: BoundingBox): number[] {
  const cells: number[] = [];
  for (let lat = Math.floor((box.minLatitude + 90) / GRID_DEGREES); lat <= Math.floor((box.maxLatitude + 90) / GRID_DEGREES); lat++) {
    const first = Math.floor((box.minLongitude + 180) / GRID_DEGREES);
    const last = Math.floor((box.maxLongitude + 180) / GRID_DEGREES);
    for (let lon = first; lon <= Math.min(last, first + LON_CELLS - 1); lon++) {
      cells.push(lat * LON_CELLS + (((lon % LON_CELLS) + LON_CELLS) % LON_CELLS));
    }
  }
  return cells;
}
