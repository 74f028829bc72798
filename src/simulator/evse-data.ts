// The simulated Hubject's EVSE data (docs/oicp.md#evse-data, #evse-status): a generated catalogue,
// the same for the same seed, of several operators around a few German cities, plus the twelve
// DE*SIM charge points of catalogue.ts unchanged. Served by PullEvseData (pages, LastCall deltas)
// and the status pulls. Tests change it between pulls (mutate), break records (injectMalformed)
// and read the counters.
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import { SIMULATED_EVSES, SIMULATED_OPERATOR_ID, type SimulatedEvse } from "./catalogue.js";

export interface GeneratedCatalogueOptions {
  seed: number;
  /** At least this many generated EVSEs (besides DE*SIM). Default 5,000. */
  evses?: number;
}

interface Entry {
  record: Record<string, unknown>;
  operatorId: string;
  /** ms; deltas after LastCall carry it. */
  changedAt: number;
  /** Set for a deleted EVSE: its delete delta. */
  deletedAt: number | null;
  insertedAt: number;
  status: OicpEvseStatus;
}

const CITIES = [
  { name: "Berlin", latitude: 52.52, longitude: 13.405, postal: "10117" },
  { name: "Hamburg", latitude: 53.551, longitude: 9.993, postal: "20095" },
  { name: "München", latitude: 48.137, longitude: 11.575, postal: "80331" },
  { name: "Köln", latitude: 50.938, longitude: 6.96, postal: "50667" },
  { name: "Frankfurt am Main", latitude: 50.11, longitude: 8.682, postal: "60311" },
] as const;

const OPERATORS = [
  { id: "DE*ION", name: "Ionic Charge" },
  { id: "DE*EWV", name: "Elektrowerk Verbund" },
  { id: "DE*STW", name: "Stadtwerke Strom" },
  { id: "DE*AUT", name: "Autobahn Laden" },
] as const;

const KINDS = [
  { plugs: ["Type 2 Outlet"], powerType: "AC_3_PHASE", power: 11 },
  { plugs: ["Type 2 Outlet"], powerType: "AC_3_PHASE", power: 22 },
  { plugs: ["CCS Combo 2 Plug (Cable Attached)"], powerType: "DC", power: 50 },
  { plugs: ["CCS Combo 2 Plug (Cable Attached)", "CHAdeMO"], powerType: "DC", power: 150 },
  { plugs: ["CCS Combo 2 Plug (Cable Attached)"], powerType: "DC", power: 300 },
  { plugs: ["Type 2 Outlet"], powerType: "AC_1_PHASE", power: 7.4 },
] as const;

const STATUSES: readonly OicpEvseStatus[] = [
  "Available",
  "Available",
  "Available",
  "Occupied",
  "Occupied",
  "Reserved",
  "OutOfService",
  "Unknown",
];

/** mulberry32: small, fast, deterministic. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class GeneratedEvseData {
  private readonly entries = new Map<string, Entry>();
  /** Served in every answer until cleared (a CPO's bad data). */
  private malformed: Array<Record<string, unknown>> = [];
  private readonly rand: () => number;
  private nextStation = 0;
  /** Calls answered, by operation (for tests). */
  readonly counters = { pullEvseData: 0, pullEvseStatus: 0, pullEvseStatusByOperatorId: 0, recordsServed: 0 };

  constructor(
    options: GeneratedCatalogueOptions,
    private readonly simStatus: (evse: SimulatedEvse) => OicpEvseStatus,
    private readonly clock: () => number = Date.now,
  ) {
    this.rand = random(options.seed);
    const at = this.clock();
    SIMULATED_EVSES.forEach((evse, i) => {
      this.put(simRecord(evse, i), SIMULATED_OPERATOR_ID, at, "Available");
    });
    const wanted = options.evses ?? 5_000;
    let count = 0;
    while (count < wanted) count += this.addStation(at);
  }

  get size(): number {
    return [...this.entries.values()].filter((e) => e.deletedAt === null).length;
  }

  /** The live (not deleted) EvseIDs, in a stable order. */
  evseIds(): string[] {
    return [...this.entries.entries()].filter(([, e]) => e.deletedAt === null).map(([id]) => id);
  }

  record(evseId: string): Record<string, unknown> | undefined {
    const entry = this.entries.get(evseId);
    return entry && entry.deletedAt === null ? entry.record : undefined;
  }

  /** Adds `added` EVSEs (whole stations), changes `changed` and deletes `deleted` generated ones; answers their ids. */
  mutate(change: { added?: number; changed?: number; deleted?: number }): { added: string[]; changed: string[]; deleted: string[] } {
    const at = this.clock();
    const before = new Set(this.entries.keys());
    let added = 0;
    while (added < (change.added ?? 0)) added += this.addStation(at);
    const addedIds = [...this.entries.keys()].filter((id) => !before.has(id));
    const generated = this.evseIds().filter((id) => !id.startsWith(SIMULATED_OPERATOR_ID) && !addedIds.includes(id));
    const changedIds = generated.slice(0, change.changed ?? 0);
    for (const id of changedIds) {
      const entry = this.entries.get(id)!;
      entry.record = { ...entry.record, ChargingFacilities: [{ PowerType: "DC", Power: 350 }] };
      entry.changedAt = at;
    }
    const deletedIds = generated.slice(changedIds.length, changedIds.length + (change.deleted ?? 0));
    for (const id of deletedIds) {
      const entry = this.entries.get(id)!;
      entry.deletedAt = at;
      entry.changedAt = at;
    }
    return { added: addedIds, changed: changedIds, deleted: deletedIds };
  }

  /** Moves `count` generated EVSEs to another status; answers the new ones. */
  changeStatuses(count: number): Map<string, OicpEvseStatus> {
    const changed = new Map<string, OicpEvseStatus>();
    const ids = this.evseIds().filter((id) => !id.startsWith(SIMULATED_OPERATOR_ID));
    for (let i = 0; i < count && ids.length > 0; i++) {
      const id = ids[Math.floor(this.rand() * ids.length)]!;
      const entry = this.entries.get(id)!;
      entry.status = entry.status === "Available" ? "Occupied" : "Available";
      changed.set(id, entry.status);
    }
    return changed;
  }

  /** Sets one generated EVSE's status (tests); false when it is not a live generated EVSE. */
  setStatus(evseId: string, status: OicpEvseStatus): boolean {
    const entry = this.entries.get(evseId);
    if (!entry || entry.deletedAt !== null || entry.operatorId === SIMULATED_OPERATOR_ID) return false;
    entry.status = status;
    return true;
  }

  /** Serves these raw records in every EVSE data answer too, until clearMalformed(). */
  injectMalformed(records: Array<Record<string, unknown>>): void {
    this.malformed.push(...records);
  }

  clearMalformed(): void {
    this.malformed = [];
  }

  /** One page, in a stable order; with lastCall only what changed after it, each with deltaType. */
  page(page: number, size: number, lastCall: number | null): { content: unknown[]; totalElements: number } {
    this.counters.pullEvseData++;
    const records: unknown[] = [];
    for (const entry of this.entries.values()) {
      if (lastCall === null) {
        if (entry.deletedAt === null) records.push(entry.record);
      } else if (entry.changedAt > lastCall) {
        if (entry.deletedAt !== null) records.push({ ...entry.record, deltaType: "delete" });
        else records.push({ ...entry.record, deltaType: entry.insertedAt > lastCall ? "insert" : "update" });
      }
    }
    records.push(...this.malformed);
    const content = records.slice(page * size, page * size + size);
    this.counters.recordsServed += content.length;
    return { content, totalElements: records.length };
  }

  /** Statuses grouped by operator, all or of the operators named. */
  statuses(operatorIds: readonly string[] | null): Array<{ OperatorID: string; OperatorName: string; EvseStatusRecord: unknown[] }> {
    const byOperator = new Map<string, unknown[]>();
    for (const [evseId, entry] of this.entries) {
      if (entry.deletedAt !== null || (operatorIds && !operatorIds.includes(entry.operatorId))) continue;
      const sim = entry.operatorId === SIMULATED_OPERATOR_ID ? SIMULATED_EVSES.find((e) => e.evseId === evseId) : undefined;
      const status = sim ? this.simStatus(sim) : entry.status;
      let records = byOperator.get(entry.operatorId);
      if (!records) {
        records = [];
        byOperator.set(entry.operatorId, records);
      }
      records.push({ EvseID: evseId, EvseStatus: status });
    }
    return [...byOperator].map(([OperatorID, EvseStatusRecord]) => ({
      OperatorID,
      OperatorName: OPERATORS.find((o) => o.id === OperatorID)?.name ?? "Simulated CPO",
      EvseStatusRecord,
    }));
  }

  private put(record: Record<string, unknown>, operatorId: string, at: number, status: OicpEvseStatus): void {
    this.entries.set(record.EvseID as string, { record, operatorId, changedAt: at, insertedAt: at, deletedAt: null, status });
  }

  private addStation(at: number): number {
    const n = this.nextStation++;
    const operator = OPERATORS[n % OPERATORS.length]!;
    const city = CITIES[Math.floor(this.rand() * CITIES.length)]!;
    // Within about 15 km of the centre, denser towards it.
    const r = 0.14 * Math.sqrt(this.rand());
    const angle = this.rand() * 2 * Math.PI;
    const latitude = city.latitude + r * Math.sin(angle);
    const longitude = city.longitude + (r * Math.cos(angle)) / Math.cos((city.latitude * Math.PI) / 180);
    const kind = KINDS[Math.floor(this.rand() * KINDS.length)]!;
    const evses = 1 + Math.floor(this.rand() * 4);
    const stationId = `${operator.id}*S${String(n).padStart(6, "0")}`;
    for (let i = 1; i <= evses; i++) {
      const evseId = `${operator.id}*E${String(n).padStart(6, "0")}*${i}`;
      const status = STATUSES[Math.floor(this.rand() * STATUSES.length)]!;
      this.put(
        evseRecord({
          evseId,
          operatorId: operator.id,
          operatorName: operator.name,
          stationId,
          stationName: `${city.name} ${operator.name} ${n}`,
          city: city.name,
          postal: city.postal,
          street: `Ladestraße ${1 + (n % 200)}`,
          latitude,
          longitude,
          plugs: [...kind.plugs],
          powerType: kind.powerType,
          power: kind.power,
          remote: this.rand() < 0.9,
          open24: this.rand() < 0.8,
        }),
        operator.id,
        at,
        status,
      );
    }
    return evses;
  }
}

interface RecordSpec {
  evseId: string;
  operatorId: string;
  operatorName: string;
  stationId: string;
  stationName: string;
  city: string;
  postal: string;
  street: string;
  latitude: number;
  longitude: number;
  plugs: string[];
  powerType: string;
  power: number;
  remote: boolean;
  open24: boolean;
}

/** An EvseDataRecord with every mandatory field (docs/oicp.md#evse-data), coordinates as DecimalDegree strings. */
function evseRecord(spec: RecordSpec): Record<string, unknown> {
  return {
    EvseID: spec.evseId,
    OperatorID: spec.operatorId,
    OperatorName: spec.operatorName,
    ChargingStationID: spec.stationId,
    ChargingStationNames: [{ lang: "de", value: spec.stationName }],
    Address: { Country: "DEU", City: spec.city, Street: spec.street, PostalCode: spec.postal, HouseNum: "1", TimeZone: "UTC+01:00" },
    GeoCoordinates: { DecimalDegree: { Latitude: spec.latitude.toFixed(6), Longitude: spec.longitude.toFixed(6) } },
    Plugs: spec.plugs,
    ChargingFacilities: [{ PowerType: spec.powerType, Power: spec.power }],
    RenewableEnergy: true,
    CalibrationLawDataAvailability: "Local",
    AuthenticationModes: spec.remote ? ["NFC RFID Classic", "REMOTE"] : ["NFC RFID Classic"],
    PaymentOptions: spec.remote ? ["Contract"] : ["Contract", "Direct"],
    ValueAddedServices: ["None"],
    Accessibility: "Free publicly accessible",
    HotlinePhoneNumber: "+4930123456",
    IsOpen24Hours: spec.open24,
    ...(spec.open24 ? {} : { OpeningTimes: [{ on: "Workdays", Period: [{ begin: "07:00", end: "22:00" }] }] }),
    IsHubjectCompatible: true,
    DynamicInfoAvailable: "true",
  };
}

/** The twelve DE*SIM EVSEs, around Berlin's Alexanderplatz, as one station per EvseID's pool. */
function simRecord(evse: SimulatedEvse, i: number): Record<string, unknown> {
  const pool = evse.evseId.replace(/\*\d+$/, "");
  return evseRecord({
    evseId: evse.evseId,
    operatorId: SIMULATED_OPERATOR_ID,
    operatorName: "Simulated CPO",
    stationId: pool,
    stationName: evse.label,
    city: "Berlin",
    postal: "10178",
    street: "Alexanderplatz",
    latitude: 52.5219 + i * 0.0005,
    longitude: 13.4132 + i * 0.0005,
    plugs: evse.powerKw >= 50 ? ["CCS Combo 2 Plug (Cable Attached)"] : ["Type 2 Outlet"],
    powerType: evse.powerKw >= 50 ? "DC" : "AC_3_PHASE",
    power: evse.powerKw,
    remote: true,
    open24: true,
  });
}
