// eRoamingChargingNotifications v1.1 (docs/oicp.md#notifications) read into a session event.
import type { ParsedInbound } from "../../../sessions/ports.js";
import type { SessionEvent } from "../../../sessions/session.js";
import { EVSE_ID, OPERATOR_ID, PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX, SESSION_ID, sessionIdKey } from "../../wire/identifiers.js";
import { type FieldReader, Refusal } from "./fields.js";
import { readIdentification } from "./identification.js";

const TYPES = ["Start", "Progress", "End", "Error"] as const;
const ERROR_TYPES = ["ConnectorError", "CriticalError"] as const;

export function readNotification(reader: FieldReader, receivedAt: Date, contentHash: (fields: unknown) => string): ParsedInbound {
  const type = TYPES.find((t) => t === reader.body.Type);
  if (!type) throw new Refusal("Type", "missing or not one of Start, Progress, End, Error");
  const sessionId = reader.requiredString("SessionID", SESSION_ID, "SessionID");
  const evseId = reader.requiredString("EvseID", EVSE_ID, "EvseID");
  const cpoPartnerSessionId = reader.optionalString("CPOPartnerSessionID", PARTNER_SESSION_ID_MAX);
  const empPartnerSessionId = reader.optionalString("EMPPartnerSessionID", PARTNER_SESSION_ID_MAX);
  const operatorId = reader.optionalString("OperatorID");
  if (operatorId !== null && !OPERATOR_ID.test(operatorId)) reader.note("OperatorID", "REPAIRED", "not an OICP OperatorID; ignored");
  reader.optionalString("PartnerProductID", PRODUCT_ID_MAX);
  const { evcoId, uid } = readIdentification(reader, false);

  const base = { at: receivedAt, hubjectSessionId: sessionId, cpoPartnerSessionId };
  let event: SessionEvent;
  let occurrence: string;
  switch (type) {
    case "Start": {
      const chargingStart = reader.optionalTime("ChargingStart", "chargingStart", true);
      const sessionStart = reader.optionalTime("SessionStart", "sessionStart");
      event = { type: "CHARGING_STARTED", ...base, chargingStart, sessionStart, offsets: reader.offsets, anomalies: reader.anomalies };
      occurrence = chargingStart?.toISOString() ?? "";
      break;
    }
    case "Progress": {
      const eventOccurred = reader.requiredTime("EventOccurred");
      event = {
        type: "CHARGING_PROGRESS",
        ...base,
        eventOccurred,
        chargingStart: reader.optionalTime("ChargingStart", "chargingStart", true),
        sessionStart: reader.optionalTime("SessionStart", "sessionStart"),
        consumedEnergyKwh: reader.decimal("ConsumedEnergyProgress"),
        offsets: reader.offsets,
        anomalies: reader.anomalies,
      };
      occurrence = eventOccurred.toISOString();
      break;
    }
    case "End": {
      const chargingEnd = reader.requiredTime("ChargingEnd", "chargingEnd");
      event = {
        type: "CHARGING_ENDED",
        ...base,
        chargingStart: reader.optionalTime("ChargingStart", "chargingStart"),
        sessionStart: reader.optionalTime("SessionStart", "sessionStart"),
        chargingEnd,
        sessionEnd: reader.optionalTime("SessionEnd", "sessionEnd"),
        consumedEnergyKwh: reader.decimal("ConsumedEnergy"),
        offsets: reader.offsets,
        anomalies: reader.anomalies,
      };
      occurrence = chargingEnd.toISOString();
      break;
    }
    case "Error": {
      // "Connector Error" (spec snippet, SAP) and "ConnectorError" (spec table) are the same (docs/oicp.md#e9).
      const raw = reader.requiredString("ErrorType");
      const errorType = ERROR_TYPES.find((t) => t.toLowerCase() === raw.replace(/\s+/g, "").toLowerCase());
      if (!errorType) throw new Refusal("ErrorType", "must be ConnectorError or CriticalError");
      event = {
        type: "CHARGING_ERROR",
        ...base,
        errorType,
        errorInfo: reader.optionalString("ErrorAdditionalInfo"),
        offsets: reader.offsets,
        anomalies: reader.anomalies,
      };
      occurrence = errorType;
      break;
    }
  }
  return {
    ids: { hubjectSessionId: sessionId, empPartnerSessionId, cpoPartnerSessionId, evseId, evcoId, uid },
    operatorId,
    event,
    message: {
      type,
      // (SessionID, Type, EventOccurred/ChargingStart/ChargingEnd): docs/oicp.md#duplicates.
      dedupeKey: `N:${sessionIdKey(sessionId)}:${type}:${occurrence}`,
      contentHash: contentHash({ event }),
      anomalies: reader.anomalies,
    },
  };
}
