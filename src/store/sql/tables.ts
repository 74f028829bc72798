// The SQL store's tables as Kysely sees them, and the engine flavour. Timestamps are ISO-8601 UTC
// text, decimals are text: no engine converts them on the way in or out.
import type { Generated } from "kysely";
import type { SessionStatus } from "../../sessions/session.js";

/** Which SQL engine sits behind a Kysely instance; only migrations need to know. */
export type SqlFlavor = "sqlite" | "postgres";

/**
 * Timestamps are ISO-8601 UTC text from `Date.prototype.toISOString()` (always
 * millisecond precision, fixed width), so text order is time order on both engines.
 */
export type IsoTimestamp = string;

export interface ChargingSessionsTable {
  id: string;
  driver_id: string;
  origin: Generated<string>;
  hubject_session_id: string | null;
  cpo_partner_session_id: string | null;
  evse_id: string;
  evco_id: string;
  partner_product_id: string | null;
  status: SessionStatus;
  /** JSON text of a StatusCode. */
  last_status_code: string | null;
  requested_at: IsoTimestamp;
  charging_started_at: IsoTimestamp | null;
  charging_ended_at: IsoTimestamp | null;
  session_started_at: IsoTimestamp | null;
  session_ended_at: IsoTimestamp | null;
  stop_requested_at: IsoTimestamp | null;
  updated_at: IsoTimestamp;
  /** Decimal string, never a float. */
  consumed_energy_kwh: string | null;
  last_progress_at: IsoTimestamp | null;
  last_event_at: IsoTimestamp | null;
  figures_source: string | null;
  error_type: string | null;
  error_info: string | null;
  /** JSON text of a ChargeDetailRecord (dates as ISO strings, `raw` as received). */
  charge_detail_record: string | null;
  version: number;
  /** Comparison keys (oicp/wire/identifiers.ts): what matching and the unique indexes use. */
  hubject_session_key: string | null;
  evse_key: string;
  evco_key: string;
  /** JSON text of ChargerOffsets and of FigureAnomaly[]. */
  offsets: string | null;
  anomalies: string | null;
  /** The identification that started (or stopped) the session at the charger (src/identifications). */
  identification_id: string | null;
  stop_identification_id: string | null;
}

export interface InboundMessagesTable {
  seq: Generated<number>;
  kind: string;
  /** "push" (Hubject called us) or "backfill" (GetChargeDetailRecords). */
  source: string;
  operator_id: string | null;
  /** From reading; null when the message could not be read. */
  type: string | null;
  hubject_session_id: string | null;
  hubject_session_key: string | null;
  emp_partner_session_id: string | null;
  evse_id: string | null;
  evse_key: string | null;
  evco_id: string | null;
  dedupe_key: string | null;
  content_hash: string | null;
  /** The body exactly as received. */
  body: string;
  received_at: IsoTimestamp;
  session_id: string | null;
  state: string;
  problem: string | null;
  /** JSON text of FigureAnomaly[]. */
  anomalies: string | null;
  duplicate_of: number | null;
}

export interface IdempotencyKeysTable {
  driver_id: string;
  key: string;
  operation: string;
  session_id: string;
  created_at: IsoTimestamp;
  /** Set when the first call answered; result_error is then its error as JSON (null: none). */
  settled_at: IsoTimestamp | null;
  result_error: string | null;
}

export interface DriverContractsTable {
  /** evcoIdKey of the contract (upper case, no separators: docs/oicp.md#identifiers). */
  evco_id: string;
  driver_id: string;
  seen_at: IsoTimestamp;
}

export interface IdentificationsTable {
  id: string;
  driver_id: string;
  evco_id: string;
  /** evcoIdKey of the contract. */
  evco_key: string;
  type: string;
  uid: string | null;
  /** identification.ts credentialKey: unique. */
  credential_key: string;
  rfid_type: string | null;
  printed_number: string | null;
  expires_at: IsoTimestamp | null;
  pin_hash: string | null;
  status: string;
  blocked_by: string | null;
  created_at: IsoTimestamp;
  updated_at: IsoTimestamp;
  version: number;
  pushed_hash: string | null;
  /** 1 while a change has not been pushed to Hubject yet. */
  push_pending: Generated<number>;
}

/** The EVSE catalogue (src/catalogue, migration 0006). */
export interface CatalogueEvsesTable {
  evse_key: string;
  evse_id: string;
  operator_id: string;
  station_id: string;
  grid_cell: number;
  latitude: number;
  longitude: number;
  max_power_kw: number;
  is_hubject_compatible: number;
  record: string;
  last_update: IsoTimestamp | null;
  status: string | null;
  status_at: IsoTimestamp | null;
  seen_at: IsoTimestamp;
  updated_at: IsoTimestamp;
  deleted: Generated<number>;
}

export interface CatalogueSyncTable {
  name: string;
  mode: string;
  page: number;
  started_at: IsoTimestamp | null;
  last_call: IsoTimestamp | null;
}

/** Dynamic pricing (src/pricing, migration 0007). */
export interface PricingProductsTable {
  operator_key: string;
  provider_id: string;
  product_id: string;
  operator_id: string;
  reference_unit: string;
  price_per_reference_unit: string;
  currency: string;
  maximum_power_kw: string;
  is_valid_24_hours: number;
  availability: string;
  additional_references: string;
  updated_at: IsoTimestamp;
}

export interface PricingOperatorDefaultsTable {
  operator_key: string;
  provider_id: string;
  operator_id: string;
  operator_name: string | null;
  price: string;
  currency: string;
  reference_unit: string;
  updated_at: IsoTimestamp;
}

export interface PricingEvseProductsTable {
  evse_key: string;
  provider_id: string;
  evse_id: string;
  operator_key: string;
  product_ids: string;
  updated_at: IsoTimestamp;
}

export interface PricingSyncTable {
  name: string;
  last_call: IsoTimestamp | null;
  last_full_at: IsoTimestamp | null;
}

export interface Database {
  charging_sessions: ChargingSessionsTable;
  inbound_messages: InboundMessagesTable;
  idempotency_keys: IdempotencyKeysTable;
  driver_contracts: DriverContractsTable;
  identifications: IdentificationsTable;
  catalogue_evses: CatalogueEvsesTable;
  catalogue_sync: CatalogueSyncTable;
  pricing_products: PricingProductsTable;
  pricing_operator_defaults: PricingOperatorDefaultsTable;
  pricing_evse_products: PricingEvseProductsTable;
  pricing_sync: PricingSyncTable;
}
