// eRoamingPullEvseData v2.3 (docs/oicp.md#evse-data): one Spring-style page of EvseDataRecords,
// `page`/`size` in the query as Hubject's OAS says, `LastCall` for deltas. A safe read, retried on
// transient failures. Reading is lenient record by record: a record that cannot be read (bad
// coordinates, an unknown value where we need a known one, a missing mandatory field) is skipped
// alone and counted; it never fails the page. Unknown plug, authentication or payment names are
// kept verbatim (open enums).
import { asArray, isRecord, readString } from "../../../lib/json.js";
import { EVSE_ID, OPERATOR_ID } from "../../wire/identifiers.js";
import { oicpPaths } from "../../wire/types.js";
import { readStatusCode } from "../answer.js";
import { badResponse, errorForStatus, HubjectError } from "../errors.js";
import type { HubjectClient } from "../hubject.client.js";
import { toOicpDateTime } from "./get-charge-detail-records.js";

/** Pages of at most 2000 records (docs/oicp.md#emp-operations). */
export const MAX_EVSE_DATA_PAGE_SIZE = 2000;
export const DEFAULT_EVSE_DATA_PAGE_SIZE = 1000;

export type DeltaType = "insert" | "update" | "delete";

/** One EvseDataRecord as read; field names are the catalogue's (src/catalogue/catalogue.ts). */
export interface PulledEvseRecord {
  deltaType: DeltaType | null;
  evseId: string;
  operatorId: string;
  operatorName: string;
  stationId: string;
  stationName: string;
  address: { country: string; city: string; street: string; postalCode: string; houseNum: string };
  latitude: number;
  longitude: number;
  plugs: string[];
  facilities: Array<{ powerType: string; powerKw: number }>;
  maxPowerKw: number;
  authenticationModes: string[];
  paymentOptions: string[];
  accessibility: string;
  isOpen24Hours: boolean;
  openingTimes: Array<{ on: string; periods: Array<{ begin: string; end: string }> }>;
  isHubjectCompatible: boolean;
  lastUpdate: Date | null;
}

export interface SkippedEvseRecord {
  evseId: string | null;
  reason: string;
}

export interface EvseDataPage {
  records: PulledEvseRecord[];
  /** A delete delta may carry the EvseID only: those are listed here. */
  deletedIds: string[];
  skipped: SkippedEvseRecord[];
  number: number;
  last: boolean;
  totalPages: number;
}

export interface EvseDataQuery {
  page: number;
  size?: number;
  /** The previous successful pull: delta mode (docs/oicp.md#evse-data). */
  lastCall?: Date | null;
}

export async function pullEvseData(client: HubjectClient, query: EvseDataQuery): Promise<EvseDataPage> {
  const page = query.page;
  const size = query.size ?? DEFAULT_EVSE_DATA_PAGE_SIZE;
  if (!Number.isInteger(page) || page < 0) throw new HubjectError("INVALID_REQUEST", `page must be an integer >= 0, got ${page}`);
  if (!Number.isInteger(size) || size < 1 || size > MAX_EVSE_DATA_PAGE_SIZE) {
    throw new HubjectError("INVALID_REQUEST", `size must be an integer in 1..${MAX_EVSE_DATA_PAGE_SIZE}, got ${size}`);
  }
  const body = {
    ProviderID: client.providerId,
    GeoCoordinatesResponseFormat: "DecimalDegree",
    // LastCall cannot be combined with SearchCenter, CountryCodes or OperatorIds: none is sent.
    ...(query.lastCall ? { LastCall: toOicpDateTime(query.lastCall, "floor") } : {}),
  };
  const answer = await client.post({
    operation: "PullEvseData",
    path: oicpPaths.pullEvseData(client.providerId),
    body,
    timeoutMs: client.requestTimeoutMs,
    idempotent: true,
    searchParams: { page, size },
  });
  const json = client.expectOk(answer);
  const { processId } = answer;
  if (!isRecord(json)) throw badResponse("PullEvseData: body is not a JSON object", processId);
  const status = readStatusCode(json.StatusCode);
  if (status && status.code !== "000") throw errorForStatus("PullEvseData", status, 200, processId);
  if (json.content != null && !Array.isArray(json.content)) throw badResponse("PullEvseData: content is not an array", processId);

  const records: PulledEvseRecord[] = [];
  const deletedIds: string[] = [];
  const skipped: SkippedEvseRecord[] = [];
  for (const raw of asArray(json.content)) {
    const read = readEvseDataRecord(raw);
    if ("reason" in read) {
      skipped.push(read);
    } else if (read.kind === "deleted-id") {
      deletedIds.push(read.evseId);
    } else records.push(read.record);
  }
  if (skipped.length > 0) {
    client.log.warn({ operation: "PullEvseData", processId, page, skipped: skipped.slice(0, 20) }, "skipped unreadable EVSE data records");
  }
  const number = typeof json.number === "number" ? json.number : page;
  const totalPages = typeof json.totalPages === "number" ? json.totalPages : number + 1;
  const last = typeof json.last === "boolean" ? json.last : number + 1 >= totalPages;
  return { records, deletedIds, skipped, number, last, totalPages };
}

type ReadResult = { kind: "record"; record: PulledEvseRecord } | { kind: "deleted-id"; evseId: string } | SkippedEvseRecord;

const strings = (value: unknown): string[] => asArray(value).filter((v): v is string => typeof v === "string" && v.length > 0);
const DELTA_TYPES: readonly string[] = ["insert", "update", "delete"];

/** Lenient: the record, or why it was skipped. Exported for tests. */
export function readEvseDataRecord(raw: unknown): ReadResult {
  if (!isRecord(raw)) return { evseId: null, reason: "not an object" };
  const evseId = readString(raw.EvseID);
  if (!evseId || !EVSE_ID.test(evseId)) return { evseId, reason: "EvseID missing or malformed" };
  const deltaRaw = readString(raw.deltaType);
  if (deltaRaw !== null && !DELTA_TYPES.includes(deltaRaw)) return { evseId, reason: `unknown deltaType "${deltaRaw}"` };
  const deltaType = deltaRaw as DeltaType | null;
  if (deltaType === "delete" && raw.Address === undefined) return { kind: "deleted-id", evseId };

  const operatorId = readString(raw.OperatorID);
  if (!operatorId || !OPERATOR_ID.test(operatorId)) return { evseId, reason: "OperatorID missing or malformed" };
  const coordinates = readCoordinates(raw.GeoCoordinates);
  if (!coordinates) return { evseId, reason: "GeoCoordinates missing or out of range" };
  const address = isRecord(raw.Address) ? raw.Address : null;
  const city = readString(address?.City);
  if (!address || !city) return { evseId, reason: "Address.City missing" };
  const facilities: PulledEvseRecord["facilities"] = [];
  for (const facility of asArray(raw.ChargingFacilities)) {
    if (!isRecord(facility)) continue;
    const powerKw = Number(facility.Power);
    // Power is a number; decimals occur (docs/oicp.md#e16).
    if (!Number.isFinite(powerKw) || powerKw < 0) return { evseId, reason: "ChargingFacilities.Power is not a number" };
    facilities.push({ powerType: readString(facility.PowerType) ?? "UNKNOWN", powerKw });
  }
  const plugs = strings(raw.Plugs);
  if (plugs.length === 0) return { evseId, reason: "Plugs missing" };
  const names = asArray(raw.ChargingStationNames).filter(isRecord);
  const stationName = readString(names.find((n) => n.lang === "en")?.value) ?? readString(names[0]?.value) ?? "";
  // ChargingStationID in real data, ChargingStationId in the schema (docs/oicp.md#e13).
  const stationId = readString(raw.ChargingStationID) ?? readString(raw.ChargingStationId) ?? evseId.replace(/\*?[^*]*$/, "");
  const isOpen24Hours = raw.IsOpen24Hours !== false;
  const openingTimes = asArray(raw.OpeningTimes)
    .filter(isRecord)
    .map((time) => ({
      // `on`, lower case, with `Period: [...]` (docs/oicp.md#e14); `On` read too.
      on: readString(time.on) ?? readString(time.On) ?? "Everyday",
      periods: asArray(time.Period)
        .filter(isRecord)
        .map((p) => ({ begin: readString(p.begin) ?? "", end: readString(p.end) ?? "" })),
    }));
  const lastUpdate = typeof raw.lastUpdate === "string" && !Number.isNaN(Date.parse(raw.lastUpdate)) ? new Date(raw.lastUpdate) : null;
  const record: PulledEvseRecord = {
    deltaType,
    evseId,
    operatorId,
    operatorName: readString(raw.OperatorName) ?? operatorId,
    stationId,
    stationName,
    address: {
      country: readString(address.Country) ?? "",
      city,
      street: readString(address.Street) ?? "",
      postalCode: readString(address.PostalCode) ?? "",
      houseNum: readString(address.HouseNum) ?? "",
    },
    ...coordinates,
    plugs,
    facilities,
    maxPowerKw: facilities.reduce((max, f) => Math.max(max, f.powerKw), 0),
    authenticationModes: strings(raw.AuthenticationModes),
    paymentOptions: strings(raw.PaymentOptions),
    accessibility: readString(raw.Accessibility) ?? "Unspecified",
    isOpen24Hours,
    openingTimes,
    isHubjectCompatible: raw.IsHubjectCompatible === true,
    lastUpdate,
  };
  return { kind: "record", record };
}

/** One of the three formats (docs/oicp.md#evse-data); all values are strings on the wire. */
function readCoordinates(value: unknown): { latitude: number; longitude: number } | null {
  if (!isRecord(value)) return null;
  let latitude: number;
  let longitude: number;
  if (isRecord(value.DecimalDegree)) {
    latitude = Number(value.DecimalDegree.Latitude);
    longitude = Number(value.DecimalDegree.Longitude);
  } else if (isRecord(value.Google) && typeof value.Google.Coordinates === "string") {
    const [lat, lon] = value.Google.Coordinates.trim().split(/[\s,]+/);
    latitude = Number(lat);
    longitude = Number(lon);
  } else return null;
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return null;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  return { latitude, longitude };
}
