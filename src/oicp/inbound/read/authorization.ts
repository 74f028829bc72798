// eRoamingAuthorizeStart / eRoamingAuthorizeStop v2.1 as Hubject sends them (docs/oicp.md#authorize-start):
// which card, QR code, car or contract a charger presents, at which EVSE, for which session.
// A request that cannot be read is refused with the field it fails on (answered NotAuthorized, 022).
import type { PresentedCredential } from "../../../identifications/authorize.js";
import { isRecord } from "../../../lib/json.js";
import { EVCO_ID, EVSE_ID, OPERATOR_ID, PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX, SESSION_ID } from "../../wire/identifiers.js";
import { FieldReader, Refusal } from "./fields.js";

/** OICP's UID (RFIDMifareFamilyIdentification, RFIDIdentification): 8, 14 or 20 hex digits; lower case read too. */
const UID = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20})$/;

export interface AuthorizationRequest {
  hubjectSessionId: string | null;
  cpoPartnerSessionId: string | null;
  empPartnerSessionId: string | null;
  operatorId: string;
  evseId: string | null;
  credential: PresentedCredential;
  partnerProductId: string | null;
}

export type AuthorizationReadResult =
  | { ok: true; value: AuthorizationRequest }
  /** `echo`: the partner ids it carried, answered back even on a refusal. */
  | { ok: false; problem: string; echo: AuthorizationEcho };

export interface AuthorizationEcho {
  SessionID?: string;
  CPOPartnerSessionID?: string;
  EMPPartnerSessionID?: string;
}

/** Reads an AuthorizeStart (`stop` false: SessionID optional) or AuthorizeStop (SessionID required). */
export function readAuthorization(body: unknown, kind: "start" | "stop"): AuthorizationReadResult {
  if (!isRecord(body)) return { ok: false, problem: "the body is not a JSON object", echo: {} };
  const reader = new FieldReader(body);
  const echo = echoOf(body);
  try {
    const hubjectSessionId =
      kind === "stop" || reader.present("SessionID") ? reader.requiredString("SessionID", SESSION_ID, "SessionID") : null;
    const operatorId = reader.requiredString("OperatorID", OPERATOR_ID, "OperatorID");
    const evseId = reader.present("EvseID") ? reader.requiredString("EvseID", EVSE_ID, "EvseID") : null;
    return {
      ok: true,
      value: {
        hubjectSessionId,
        cpoPartnerSessionId: partnerId(reader, "CPOPartnerSessionID"),
        empPartnerSessionId: partnerId(reader, "EMPPartnerSessionID"),
        operatorId,
        evseId,
        credential: readCredential(body.Identification),
        partnerProductId: reader.optionalString("PartnerProductID", PRODUCT_ID_MAX),
      },
    };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, problem: error.message, echo };
    throw error;
  }
}

function readCredential(node: unknown): PresentedCredential {
  if (!isRecord(node)) throw new Refusal("Identification", node === undefined || node === null ? "missing" : "must be an object");
  const variants = Object.keys(node).filter((k) => node[k] !== undefined && node[k] !== null);
  if (variants.length !== 1) {
    throw new Refusal("Identification", variants.length === 0 ? "names no identification" : "must name exactly one identification");
  }
  const variant = variants[0]!;
  const value = node[variant];
  if (!isRecord(value)) throw new Refusal(`Identification.${variant}`, "must be an object");
  const text = (field: string): string | null => {
    const v = value[field];
    return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
  };
  const evcoId = (): string => {
    const v = text("EvcoID");
    if (v === null) throw new Refusal(`Identification.${variant}.EvcoID`, "missing");
    if (!EVCO_ID.test(v)) throw new Refusal(`Identification.${variant}.EvcoID`, "not an OICP EvcoID");
    return v;
  };
  switch (variant) {
    case "RFIDMifareFamilyIdentification":
    case "RFIDIdentification": {
      const uid = text("UID");
      if (uid === null) throw new Refusal(`Identification.${variant}.UID`, "missing");
      if (!UID.test(uid)) throw new Refusal(`Identification.${variant}.UID`, "not an OICP UID (8, 14 or 20 hexadecimal digits)");
      return { kind: "RFID", uid };
    }
    case "QRCodeIdentification": {
      const id = evcoId();
      const pin = typeof value.PIN === "string" && value.PIN !== "" ? value.PIN : null;
      const hashed = isRecord(value.HashedPIN) && typeof value.HashedPIN.Value === "string" ? value.HashedPIN.Value : null;
      if (pin === null && hashed === null)
        throw new Refusal("Identification.QRCodeIdentification.PIN", "missing (neither PIN nor HashedPIN)");
      return { kind: "QR", evcoId: id, pin, hashedPin: hashed };
    }
    case "PlugAndChargeIdentification":
      return { kind: "PNC", evcoId: evcoId() };
    case "RemoteIdentification":
      return { kind: "REMOTE", evcoId: evcoId() };
    default:
      throw new Refusal("Identification", "an identification type OICP does not define");
  }
}

function partnerId(reader: FieldReader, field: string): string | null {
  return reader.optionalString(field, PARTNER_SESSION_ID_MAX);
}

/** The ids a request carried, as sent, for the answer (strings only; a SessionID only when it is one). */
function echoOf(body: Record<string, unknown>): AuthorizationEcho {
  const echo: AuthorizationEcho = {};
  if (typeof body.SessionID === "string" && SESSION_ID.test(body.SessionID.trim())) echo.SessionID = body.SessionID.trim();
  if (typeof body.CPOPartnerSessionID === "string" && body.CPOPartnerSessionID.length <= PARTNER_SESSION_ID_MAX)
    echo.CPOPartnerSessionID = body.CPOPartnerSessionID;
  if (typeof body.EMPPartnerSessionID === "string" && body.EMPPartnerSessionID.length <= PARTNER_SESSION_ID_MAX)
    echo.EMPPartnerSessionID = body.EMPPartnerSessionID;
  return echo;
}
