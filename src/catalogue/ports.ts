// The ports the catalogue owns: where it is stored, where Hubject's data comes from, and who hears
// about status changes. Adapters: src/store/sql/catalogue.sql.ts, src/app/catalogue.ts.
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import type { BoundingBox, CatalogueEntry, CatalogueEvse, EvseStatusChange } from "./catalogue.js";

/** Where a sync stopped: persisted after every page so an interrupted sync resumes there. */
export interface SyncCursor {
  /** "full" until the first full load completed, then "delta". */
  mode: "full" | "delta";
  /** Next page to read. */
  page: number;
  /** When the pull now under way started: becomes LastCall once it completes (and marks the full load's rows). */
  startedAt: Date | null;
  /** LastCall of the deltas: the start of the last completed pull. */
  lastCall: Date | null;
}

export interface CandidateQuery {
  cells: readonly number[];
  box: BoundingBox;
  minPowerKw?: number | null;
  operatorIds?: readonly string[] | null;
  onlyAvailable?: boolean;
}

export interface CatalogueStore {
  /** Inserts or replaces, marks them seen at `seenAt`, not deleted. Keeps their status. */
  upsertEvses(records: readonly CatalogueEvse[], seenAt: Date): Promise<void>;
  markDeleted(evseIds: readonly string[], at: Date): Promise<number>;
  /** After a full load: every EVSE not seen since `seenAt` is gone. */
  markDeletedUnseenSince(seenAt: Date, at: Date): Promise<number>;
  /** Sets statuses newer than the stored ones; answers the ones whose value changed. */
  applyStatuses(statuses: ReadonlyArray<{ evseId: string; status: OicpEvseStatus }>, observedAt: Date): Promise<EvseStatusChange[]>;
  /** Not deleted EVSEs within the cells and the box (the caller computes exact distances). */
  candidates(query: CandidateQuery): Promise<CatalogueEntry[]>;
  /** By EvseID (any spelling); deleted ones left out. */
  evses(evseIds: readonly string[]): Promise<Map<string, CatalogueEntry>>;
  countEvses(): Promise<number>;
  syncCursor(name: string): Promise<SyncCursor | null>;
  saveSyncCursor(name: string, cursor: SyncCursor): Promise<void>;
}

export type DeltaType = "insert" | "update" | "delete";

export interface EvseDataPage {
  records: ReadonlyArray<CatalogueEvse & { deltaType: DeltaType | null }>;
  deletedIds: readonly string[];
  skipped: number;
  last: boolean;
}

export interface EvseDataSource {
  pullEvseData(query: { page: number; size: number; lastCall: Date | null }): Promise<EvseDataPage>;
  pullEvseStatus(operatorIds?: readonly string[]): Promise<Array<{ evseId: string; status: OicpEvseStatus }>>;
}

/** evseStatusChanged's fan-out (src/pubsub/evse-status-events.ts). */
export interface EvseStatusEvents {
  publish(changes: readonly EvseStatusChange[]): void;
  subscribe(evseIds: readonly string[]): AsyncIterableIterator<EvseStatusChange>;
  close(): Promise<void>;
}
