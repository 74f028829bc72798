// eRoamingChargeDetailRecord v2.2 (docs/oicp.md#cdr) read into a billing record. It needs only what
// Hubject itself requires (SessionID, EvseID, Identification, SessionStart, SessionEnd): Hubject
// forwards CDRs without ChargingStart, ChargingEnd or ConsumedEnergy and takes only one per
// SessionID, so refusing one would lose the session's billing for good.
import type { ParsedInbound } from "../../../sessions/ports.js";
import type { ChargeDetailRecord } from "../../../sessions/session.js";
import { EVSE_ID, OPERATOR_ID, PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX, SESSION_ID, sessionIdKey } from "../../wire/identifiers.js";
import { type FieldReader, plainJson } from "./fields.js";
import { readIdentification } from "./identification.js";

export function readCdr(reader: FieldReader, receivedAt: Date, contentHash: (fields: unknown) => string): ParsedInbound {
  const sessionId = reader.requiredString("SessionID", SESSION_ID, "SessionID");
  const evseId = reader.requiredString("EvseID", EVSE_ID, "EvseID");
  const { evcoId, uid } = readIdentification(reader, true);
  const sessionStart = reader.requiredTime("SessionStart", "sessionStart");
  const sessionEnd = reader.requiredTime("SessionEnd", "sessionEnd");
  const cpoPartnerSessionId = reader.optionalString("CPOPartnerSessionID", PARTNER_SESSION_ID_MAX);
  const empPartnerSessionId = reader.optionalString("EMPPartnerSessionID", PARTNER_SESSION_ID_MAX);
  // The EMP OAS spells it HubProviderId (docs/oicp.md#e5); a hub operator may post for its operators.
  const hubOperatorId = reader.optionalString("HubOperatorID");
  const cdr: ChargeDetailRecord = {
    hubjectSessionId: sessionId,
    evseId,
    evcoId,
    partnerProductId: reader.optionalString("PartnerProductID", PRODUCT_ID_MAX),
    sessionStart,
    sessionEnd,
    chargingStart: reader.optionalTime("ChargingStart", "chargingStart", true),
    chargingEnd: reader.optionalTime("ChargingEnd", "chargingEnd", true),
    consumedEnergyKwh: reader.decimal("ConsumedEnergy", true),
    meterValueStart: reader.decimal("MeterValueStart"),
    meterValueEnd: reader.decimal("MeterValueEnd"),
    offsets: reader.offsets,
    anomalies: reader.anomalies,
    receivedAt,
    raw: plainJson(reader.body) as Record<string, unknown>,
  };
  const meterValuesInBetween = reader.decimalList("MeterValueInBetween", "meterValues");
  const billing = { ...cdr, receivedAt: null, raw: null, anomalies: null };
  return {
    ids: { hubjectSessionId: sessionId, empPartnerSessionId, cpoPartnerSessionId, evseId, evcoId, uid },
    operatorId: hubOperatorId !== null && OPERATOR_ID.test(hubOperatorId) ? hubOperatorId : null,
    event: { type: "CDR_RECEIVED", at: receivedAt, cpoPartnerSessionId, cdr },
    meterValuesInBetween,
    message: {
      type: "CDR",
      // Hubject accepts one CDR per SessionID (docs/oicp.md#get-cdrs, #duplicates).
      dedupeKey: `CDR:${sessionIdKey(sessionId)}`,
      contentHash: contentHash(billing),
      anomalies: reader.anomalies,
    },
  };
}
