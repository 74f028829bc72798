// OICP 2.3 JSON shapes as they travel on the wire (docs/oicp.md#emp-operations, #inbound).
// Only the datasource, the inbound parser and the simulator use these; the rest of the
// gateway speaks the domain types in src/sessions.

export interface OicpStatusCode {
  /** A three-character string: keep leading zeros ("000", "017"). */
  Code: string;
  Description?: string | null;
  AdditionalInfo?: string | null;
}

export interface OicpAcknowledgement {
  Result: boolean;
  StatusCode: OicpStatusCode;
  SessionID?: string | null;
  CPOPartnerSessionID?: string | null;
  EMPPartnerSessionID?: string | null;
}

export interface OicpIdentification {
  RFIDMifareFamilyIdentification?: { UID: string } | null;
  RFIDIdentification?: { UID: string; [key: string]: unknown } | null;
  QRCodeIdentification?: { EvcoID: string; [key: string]: unknown } | null;
  PlugAndChargeIdentification?: { EvcoID: string } | null;
  RemoteIdentification?: { EvcoID: string } | null;
}

/** eRoamingAuthorizeRemoteStart v2.1. No SessionID: Hubject creates it (docs/oicp.md#remote-start, #e2). */
export interface OicpAuthorizeRemoteStart {
  ProviderID: string;
  EvseID: string;
  Identification: { RemoteIdentification: { EvcoID: string } };
  EMPPartnerSessionID?: string;
  CPOPartnerSessionID?: string;
  PartnerProductID?: string;
}

/** eRoamingAuthorizeRemoteStop v2.1. No Identification (docs/oicp.md#remote-stop). */
export interface OicpAuthorizeRemoteStop {
  SessionID: string;
  ProviderID: string;
  EvseID: string;
  EMPPartnerSessionID?: string;
  CPOPartnerSessionID?: string;
}

export const OICP_EVSE_STATUSES = ["Available", "Reserved", "Occupied", "OutOfService", "EvseNotFound", "Unknown"] as const;
export type OicpEvseStatus = (typeof OICP_EVSE_STATUSES)[number];

export interface OicpPullEvseStatusById {
  ProviderID: string;
  /** 1 to 100 ids (docs/oicp.md#evse-status). */
  EvseID: string[];
}

export interface OicpEvseStatusByIdResponse {
  EVSEStatusRecords?: { EvseStatusRecord?: Array<{ EvseID: string; EvseStatus: OicpEvseStatus }> | null } | null;
  StatusCode?: OicpStatusCode | null;
}

export interface OicpGetChargeDetailRecords {
  ProviderID: string;
  From: string;
  To: string;
  SessionID?: string[];
  OperatorID?: string;
  /** Spelled CDRForwarded, not the OAS's CDRForwarder (docs/oicp.md#e6). */
  CDRForwarded?: boolean;
}

export type OicpChargingNotificationType = "Start" | "Progress" | "End" | "Error";

/** Notification as a CPO sends it. Inbound parsing is lenient: see src/oicp/inbound/parse.ts. */
export interface OicpChargingNotification {
  Type: OicpChargingNotificationType;
  SessionID: string;
  CPOPartnerSessionID?: string | null;
  EMPPartnerSessionID?: string | null;
  Identification?: OicpIdentification | null;
  EvseID: string;
  OperatorID?: string | null;
  ChargingStart?: string | null;
  SessionStart?: string | null;
  EventOccurred?: string | null;
  ChargingDuration?: number | null;
  ConsumedEnergyProgress?: number | null;
  MeterValueStart?: number | null;
  MeterValueInBetween?: { meterValues: number[] } | null;
  ChargingEnd?: string | null;
  SessionEnd?: string | null;
  ConsumedEnergy?: number | null;
  MeterValueEnd?: number | null;
  PenaltyTimeStart?: string | null;
  PartnerProductID?: string | null;
  ErrorType?: string | null;
  ErrorAdditionalInfo?: string | null;
}

export interface OicpChargeDetailRecord {
  SessionID: string;
  CPOPartnerSessionID?: string | null;
  EMPPartnerSessionID?: string | null;
  PartnerProductID?: string | null;
  EvseID: string;
  Identification: OicpIdentification;
  ChargingStart: string;
  ChargingEnd: string;
  SessionStart: string;
  SessionEnd: string;
  MeterValueStart?: number | null;
  MeterValueEnd?: number | null;
  MeterValueInBetween?: { meterValues: number[] } | null;
  ConsumedEnergy: number;
  SignedMeteringValues?: Array<{ SignedMeteringValue?: string | null; MeteringStatus?: string | null }> | null;
  CalibrationLawVerificationInfo?: Record<string, unknown> | null;
  HubOperatorID?: string | null;
  HubProviderID?: string | null;
}

/** Hubject appends its own /api/oicp/... path to the Service URL the EMP registered (docs/oicp.md#inbound). */
export const OICP_API_PREFIX = "/api/oicp";

export const oicpPaths = {
  remoteStart: (providerId: string) => `charging/v21/providers/${encodeURIComponent(providerId)}/authorize-remote/start`,
  remoteStop: (providerId: string) => `charging/v21/providers/${encodeURIComponent(providerId)}/authorize-remote/stop`,
  pullEvseData: (providerId: string) => `evsepull/v23/providers/${encodeURIComponent(providerId)}/data-records`,
  pullEvseStatus: (providerId: string) => `evsepull/v21/providers/${encodeURIComponent(providerId)}/status-records`,
  pullEvseStatusByOperatorId: (providerId: string) =>
    `evsepull/v21/providers/${encodeURIComponent(providerId)}/status-records-by-operator-id`,
  pullEvseStatusById: (providerId: string) => `evsepull/v21/providers/${encodeURIComponent(providerId)}/status-records-by-id`,
  getChargeDetailRecords: (providerId: string) =>
    `cdrmgmt/v22/providers/${encodeURIComponent(providerId)}/get-charge-detail-records-request`,
  pullPricingProductData: (providerId: string) => `dynamicpricing/v10/providers/${encodeURIComponent(providerId)}/pricing-products`,
  pullEvsePricing: (providerId: string) => `dynamicpricing/v10/providers/${encodeURIComponent(providerId)}/evse-pricing`,
  pushAuthenticationData: (providerId: string) => `authdata/v21/providers/${encodeURIComponent(providerId)}/push-request`,
  chargingNotifications: () => `notificationmgmt/v11/charging-notifications`,
  authorizeStart: (operatorId: string) => `charging/v21/operators/${encodeURIComponent(operatorId)}/authorize/start`,
  authorizeStop: (operatorId: string) => `charging/v21/operators/${encodeURIComponent(operatorId)}/authorize/stop`,
  chargeDetailRecord: (operatorId: string, version: "v21" | "v22" = "v22") =>
    `cdrmgmt/${version}/operators/${encodeURIComponent(operatorId)}/charge-detail-record`,
} as const;

/** A Spring-style page, as PullEvseData and GetChargeDetailRecords answer (docs/oicp.md#evse-data, #get-cdrs). */
export interface OicpPage<T> {
  content?: T[] | null;
  number?: number | null;
  size?: number | null;
  totalElements?: number | null;
  totalPages?: number | null;
  first?: boolean | null;
  last?: boolean | null;
  numberOfElements?: number | null;
  StatusCode?: OicpStatusCode | null;
}

/** Hubject's HTTP 400 body: not OICP-shaped (docs/oicp.md#http-errors, example 19). */
export interface HubjectValidationErrorBody {
  message?: string | null;
  extendedInfo?: string | null;
  validationErrors?: Array<{ fieldReference?: string | null; errorMessage?: string | null }> | null;
}
