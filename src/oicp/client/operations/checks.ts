// What the gateway checks before it sends anything: OICP's formats and lengths (docs/oicp.md#identifiers).
import { EVSE_ID, PARTNER_SESSION_ID_MAX } from "../../wire/identifiers.js";

export function checkEvseId(evseId: string): string[] {
  return EVSE_ID.test(evseId) ? [] : ["EvseID does not match the OICP EvseID format"];
}

export function checkPartnerSessionId(field: string, value: string): string[] {
  // The OAS writes `maximum: 250` for a string, which validators ignore (docs/oicp.md#e3).
  return value.length > 0 && value.length <= PARTNER_SESSION_ID_MAX ? [] : [`${field} must be 1..${PARTNER_SESSION_ID_MAX} characters`];
}
