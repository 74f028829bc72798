/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** What was wrong with a figure the charger sent. */
export type AnomalyKind =
  /** Cannot be true (negative energy, an end before its start, a meter running backwards, a time far in the future): left out, never shown as fact. */
  | 'IMPLAUSIBLE'
  /** Not sent (or not readable): the figure is empty. */
  | 'MISSING'
  /** A time sent without its UTC offset: read as UTC. */
  | 'NO_OFFSET'
  /** Sent in a form OICP does not allow (a decimal comma, a number in a string, …) and read anyway. */
  | 'REPAIRED';

/** Why a start or stop did not go through. The mapping from OICP codes is in README.md. */
export type ChargingErrorCode =
  | 'CHARGER_NOT_RESPONDING'
  | 'CONFIGURATION_ERROR'
  | 'CONTRACT_NOT_ACCEPTED'
  | 'EVSE_IN_USE'
  | 'EVSE_NOT_REMOTE_CAPABLE'
  | 'EVSE_OFFLINE'
  | 'EVSE_OUT_OF_SERVICE'
  | 'EVSE_RESERVED'
  | 'EVSE_UNKNOWN'
  | 'HUBJECT_ERROR'
  | 'HUBJECT_UNAVAILABLE'
  | 'NO_VALID_CONTRACT'
  | 'NO_VEHICLE_CONNECTED'
  | 'OPERATOR_UNAVAILABLE'
  | 'SESSION_NOT_ACTIVE'
  | 'SESSION_STARTING'
  | 'UNKNOWN_ERROR';

/** Where a session stands. It only moves forward; REJECTED, FAILED and COMPLETED are final (COMPLETED once the CDR is in). */
export type ChargingSessionStatus =
  /** The charging operator accepted the start command. Energy is not flowing yet. */
  | 'ACCEPTED'
  /** Energy is flowing (Start notification or a later reading). */
  | 'CHARGING'
  /** Energy stopped (End notification). The final figures come with the CDR. */
  | 'CHARGING_ENDED'
  /** The charge detail record arrived: final, billable figures. Final. */
  | 'COMPLETED'
  /** The charger reported an error (Error notification). Final unless a CDR still arrives. */
  | 'FAILED'
  /** Hubject or the charger did not confirm in time (timeout or 310). The charger may still start: the session updates when it reports. */
  | 'OUTCOME_UNKNOWN'
  /** Refused by Hubject or the charging operator; see lastStatusCode. Final. */
  | 'REJECTED'
  /** Sent to Hubject; no answer yet. */
  | 'REQUESTED'
  /** The driver asked to stop; waiting for the charger. */
  | 'STOP_REQUESTED';

/** Live status of a charging point, from Hubject's PullEvseStatusById. */
export type EvseStatus =
  | 'AVAILABLE'
  | 'NOT_FOUND'
  | 'OCCUPIED'
  | 'OUT_OF_SERVICE'
  | 'RESERVED'
  | 'UNKNOWN';

/** Where a session's latest figures came from. */
export type FiguresSource =
  | 'CHARGE_DETAIL_RECORD'
  | 'EVSE_STATUS'
  | 'INFERRED'
  | 'NOTIFICATION';

/** How the session was started. */
export type SessionOrigin =
  /** From the app (startCharging). */
  | 'APP'
  /** At the charger with one of the driver's contracts (RFID card, Plug&Charge); learnt from Hubject's messages. */
  | 'CHARGER';

export type StartChargingInput = {
  /** The contract to charge with; optional when the driver holds exactly one. */
  evcoId?: string | null | undefined;
  /** The charging point, e.g. DE*ABC*E1234*1. */
  evseId: string;
  /** Repeating a request with the same key returns the first result and starts nothing new. */
  idempotencyKey?: string | null | undefined;
  /** Tariff product, e.g. "AC3" (at most 50 characters). */
  partnerProductId?: string | null | undefined;
};

export type StopChargingInput = {
  idempotencyKey?: string | null | undefined;
  sessionId: string | number;
};

export type EvseQueryVariables = Exact<{
  id: string;
}>;


export type EvseQuery = { evse: { id: string, status: EvseStatus, statusObservedAt: string } | null };

export type MySessionsQueryVariables = Exact<{
  first?: number;
  after?: string | null | undefined;
  active?: boolean | null | undefined;
}>;


export type MySessionsQuery = { chargingSessions: { edges: Array<{ cursor: string, node: { id: string, hubjectSessionId: string | null, evseId: string, evcoId: string, origin: SessionOrigin, status: ChargingSessionStatus, stale: boolean, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, figuresSource: FiguresSource | null, requestedAt: string, chargingStartedAt: string | null, chargingEndedAt: string | null, sessionStartedAt: string | null, sessionEndedAt: string | null, lastEventAt: string | null, updatedAt: string, errorType: string | null, errorInfo: string | null, chargingStartedAtLocal: string | null, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }>, lastStatusCode: { code: string, description: string | null, additionalInfo: string | null } | null, chargeDetailRecord: { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> } | null } }>, pageInfo: { endCursor: string | null, hasNextPage: boolean } } };

export type OneSessionQueryVariables = Exact<{
  id: string | number;
}>;


export type OneSessionQuery = { chargingSession: { id: string, hubjectSessionId: string | null, evseId: string, evcoId: string, origin: SessionOrigin, status: ChargingSessionStatus, stale: boolean, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, figuresSource: FiguresSource | null, requestedAt: string, chargingStartedAt: string | null, chargingEndedAt: string | null, sessionStartedAt: string | null, sessionEndedAt: string | null, lastEventAt: string | null, updatedAt: string, errorType: string | null, errorInfo: string | null, chargingStartedAtLocal: string | null, evse: { id: string, status: EvseStatus } | null, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }>, lastStatusCode: { code: string, description: string | null, additionalInfo: string | null } | null, chargeDetailRecord: { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> } | null } | null };

export type SessionUpdatedSubscriptionVariables = Exact<{
  sessionId?: string | number | null | undefined;
}>;


export type SessionUpdatedSubscription = { sessionUpdated: { id: string, hubjectSessionId: string | null, evseId: string, evcoId: string, origin: SessionOrigin, status: ChargingSessionStatus, stale: boolean, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, figuresSource: FiguresSource | null, requestedAt: string, chargingStartedAt: string | null, chargingEndedAt: string | null, sessionStartedAt: string | null, sessionEndedAt: string | null, lastEventAt: string | null, updatedAt: string, errorType: string | null, errorInfo: string | null, chargingStartedAtLocal: string | null, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }>, lastStatusCode: { code: string, description: string | null, additionalInfo: string | null } | null, chargeDetailRecord: { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> } | null } };

export type StartChargingMutationVariables = Exact<{
  input: StartChargingInput;
}>;


export type StartChargingMutation = { startCharging: { session: { id: string, hubjectSessionId: string | null, evseId: string, evcoId: string, origin: SessionOrigin, status: ChargingSessionStatus, stale: boolean, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, figuresSource: FiguresSource | null, requestedAt: string, chargingStartedAt: string | null, chargingEndedAt: string | null, sessionStartedAt: string | null, sessionEndedAt: string | null, lastEventAt: string | null, updatedAt: string, errorType: string | null, errorInfo: string | null, chargingStartedAtLocal: string | null, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }>, lastStatusCode: { code: string, description: string | null, additionalInfo: string | null } | null, chargeDetailRecord: { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> } | null } | null, error: { code: ChargingErrorCode, message: string, oicpStatusCode: string | null, retryable: boolean } | null } };

export type StopChargingMutationVariables = Exact<{
  input: StopChargingInput;
}>;


export type StopChargingMutation = { stopCharging: { session: { id: string, hubjectSessionId: string | null, evseId: string, evcoId: string, origin: SessionOrigin, status: ChargingSessionStatus, stale: boolean, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, figuresSource: FiguresSource | null, requestedAt: string, chargingStartedAt: string | null, chargingEndedAt: string | null, sessionStartedAt: string | null, sessionEndedAt: string | null, lastEventAt: string | null, updatedAt: string, errorType: string | null, errorInfo: string | null, chargingStartedAtLocal: string | null, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }>, lastStatusCode: { code: string, description: string | null, additionalInfo: string | null } | null, chargeDetailRecord: { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> } | null } | null, error: { code: ChargingErrorCode, message: string, oicpStatusCode: string | null, retryable: boolean } | null } };

export type ChargeDetailRecordFieldsFragment = { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> };

export type FigureAnomalyFieldsFragment = { field: string, kind: AnomalyKind, detail: string };

export type ChargingSessionFieldsFragment = { id: string, hubjectSessionId: string | null, evseId: string, evcoId: string, origin: SessionOrigin, status: ChargingSessionStatus, stale: boolean, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, figuresSource: FiguresSource | null, requestedAt: string, chargingStartedAt: string | null, chargingEndedAt: string | null, sessionStartedAt: string | null, sessionEndedAt: string | null, lastEventAt: string | null, updatedAt: string, errorType: string | null, errorInfo: string | null, chargingStartedAtLocal: string | null, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }>, lastStatusCode: { code: string, description: string | null, additionalInfo: string | null } | null, chargeDetailRecord: { hubjectSessionId: string, evseId: string, consumedEnergyKwh: number | null, consumedEnergyKwhDecimal: string | null, meterValueStart: number | null, meterValueEnd: number | null, chargingStart: string | null, chargingEnd: string | null, sessionStart: string | null, sessionEnd: string | null, sessionStartLocal: string | null, sessionEndLocal: string | null, partnerProductId: string | null, receivedAt: string, anomalies: Array<{ field: string, kind: AnomalyKind, detail: string }> } | null };

export type ChargingErrorFieldsFragment = { code: ChargingErrorCode, message: string, oicpStatusCode: string | null, retryable: boolean };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const FigureAnomalyFieldsFragmentDoc = new TypedDocumentString(`
    fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}
    `, {"fragmentName":"FigureAnomalyFields"}) as unknown as TypedDocumentString<FigureAnomalyFieldsFragment, unknown>;
export const ChargeDetailRecordFieldsFragmentDoc = new TypedDocumentString(`
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
    fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}`, {"fragmentName":"ChargeDetailRecordFields"}) as unknown as TypedDocumentString<ChargeDetailRecordFieldsFragment, unknown>;
export const ChargingSessionFieldsFragmentDoc = new TypedDocumentString(`
    fragment ChargingSessionFields on ChargingSession {
  id
  hubjectSessionId
  evseId
  evcoId
  origin
  status
  stale
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  figuresSource
  requestedAt
  chargingStartedAt
  chargingEndedAt
  sessionStartedAt
  sessionEndedAt
  lastEventAt
  updatedAt
  errorType
  errorInfo
  chargingStartedAtLocal
  anomalies {
    ...FigureAnomalyFields
  }
  lastStatusCode {
    code
    description
    additionalInfo
  }
  chargeDetailRecord {
    ...ChargeDetailRecordFields
  }
}
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}`, {"fragmentName":"ChargingSessionFields"}) as unknown as TypedDocumentString<ChargingSessionFieldsFragment, unknown>;
export const ChargingErrorFieldsFragmentDoc = new TypedDocumentString(`
    fragment ChargingErrorFields on ChargingError {
  code
  message
  oicpStatusCode
  retryable
}
    `, {"fragmentName":"ChargingErrorFields"}) as unknown as TypedDocumentString<ChargingErrorFieldsFragment, unknown>;
export const EvseDocument = new TypedDocumentString(`
    query Evse($id: String!) {
  evse(id: $id) {
    id
    status
    statusObservedAt
  }
}
    `) as unknown as TypedDocumentString<EvseQuery, EvseQueryVariables>;
export const MySessionsDocument = new TypedDocumentString(`
    query MySessions($first: Int! = 20, $after: String, $active: Boolean) {
  chargingSessions(first: $first, after: $after, active: $active) {
    edges {
      cursor
      node {
        ...ChargingSessionFields
      }
    }
    pageInfo {
      endCursor
      hasNextPage
    }
  }
}
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}
fragment ChargingSessionFields on ChargingSession {
  id
  hubjectSessionId
  evseId
  evcoId
  origin
  status
  stale
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  figuresSource
  requestedAt
  chargingStartedAt
  chargingEndedAt
  sessionStartedAt
  sessionEndedAt
  lastEventAt
  updatedAt
  errorType
  errorInfo
  chargingStartedAtLocal
  anomalies {
    ...FigureAnomalyFields
  }
  lastStatusCode {
    code
    description
    additionalInfo
  }
  chargeDetailRecord {
    ...ChargeDetailRecordFields
  }
}`) as unknown as TypedDocumentString<MySessionsQuery, MySessionsQueryVariables>;
export const OneSessionDocument = new TypedDocumentString(`
    query OneSession($id: ID!) {
  chargingSession(id: $id) {
    ...ChargingSessionFields
    evse {
      id
      status
    }
  }
}
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}
fragment ChargingSessionFields on ChargingSession {
  id
  hubjectSessionId
  evseId
  evcoId
  origin
  status
  stale
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  figuresSource
  requestedAt
  chargingStartedAt
  chargingEndedAt
  sessionStartedAt
  sessionEndedAt
  lastEventAt
  updatedAt
  errorType
  errorInfo
  chargingStartedAtLocal
  anomalies {
    ...FigureAnomalyFields
  }
  lastStatusCode {
    code
    description
    additionalInfo
  }
  chargeDetailRecord {
    ...ChargeDetailRecordFields
  }
}`) as unknown as TypedDocumentString<OneSessionQuery, OneSessionQueryVariables>;
export const SessionUpdatedDocument = new TypedDocumentString(`
    subscription SessionUpdated($sessionId: ID) {
  sessionUpdated(sessionId: $sessionId) {
    ...ChargingSessionFields
  }
}
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}
fragment ChargingSessionFields on ChargingSession {
  id
  hubjectSessionId
  evseId
  evcoId
  origin
  status
  stale
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  figuresSource
  requestedAt
  chargingStartedAt
  chargingEndedAt
  sessionStartedAt
  sessionEndedAt
  lastEventAt
  updatedAt
  errorType
  errorInfo
  chargingStartedAtLocal
  anomalies {
    ...FigureAnomalyFields
  }
  lastStatusCode {
    code
    description
    additionalInfo
  }
  chargeDetailRecord {
    ...ChargeDetailRecordFields
  }
}`) as unknown as TypedDocumentString<SessionUpdatedSubscription, SessionUpdatedSubscriptionVariables>;
export const StartChargingDocument = new TypedDocumentString(`
    mutation StartCharging($input: StartChargingInput!) {
  startCharging(input: $input) {
    session {
      ...ChargingSessionFields
    }
    error {
      ...ChargingErrorFields
    }
  }
}
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}
fragment ChargingSessionFields on ChargingSession {
  id
  hubjectSessionId
  evseId
  evcoId
  origin
  status
  stale
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  figuresSource
  requestedAt
  chargingStartedAt
  chargingEndedAt
  sessionStartedAt
  sessionEndedAt
  lastEventAt
  updatedAt
  errorType
  errorInfo
  chargingStartedAtLocal
  anomalies {
    ...FigureAnomalyFields
  }
  lastStatusCode {
    code
    description
    additionalInfo
  }
  chargeDetailRecord {
    ...ChargeDetailRecordFields
  }
}
fragment ChargingErrorFields on ChargingError {
  code
  message
  oicpStatusCode
  retryable
}`) as unknown as TypedDocumentString<StartChargingMutation, StartChargingMutationVariables>;
export const StopChargingDocument = new TypedDocumentString(`
    mutation StopCharging($input: StopChargingInput!) {
  stopCharging(input: $input) {
    session {
      ...ChargingSessionFields
    }
    error {
      ...ChargingErrorFields
    }
  }
}
    fragment ChargeDetailRecordFields on ChargeDetailRecord {
  hubjectSessionId
  evseId
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  meterValueStart
  meterValueEnd
  chargingStart
  chargingEnd
  sessionStart
  sessionEnd
  sessionStartLocal
  sessionEndLocal
  partnerProductId
  receivedAt
  anomalies {
    ...FigureAnomalyFields
  }
}
fragment FigureAnomalyFields on FigureAnomaly {
  field
  kind
  detail
}
fragment ChargingSessionFields on ChargingSession {
  id
  hubjectSessionId
  evseId
  evcoId
  origin
  status
  stale
  consumedEnergyKwh
  consumedEnergyKwhDecimal
  figuresSource
  requestedAt
  chargingStartedAt
  chargingEndedAt
  sessionStartedAt
  sessionEndedAt
  lastEventAt
  updatedAt
  errorType
  errorInfo
  chargingStartedAtLocal
  anomalies {
    ...FigureAnomalyFields
  }
  lastStatusCode {
    code
    description
    additionalInfo
  }
  chargeDetailRecord {
    ...ChargeDetailRecordFields
  }
}
fragment ChargingErrorFields on ChargingError {
  code
  message
  oicpStatusCode
  retryable
}`) as unknown as TypedDocumentString<StopChargingMutation, StopChargingMutationVariables>;