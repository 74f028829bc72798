// The one place that turns OICP status codes (docs/oicp.md#status-codes) and transport failures into the
// errors drivers and operators see. Driver messages are short and say what to do next.

export const CHARGING_ERROR_CODES = [
  "NO_VALID_CONTRACT",
  "CONTRACT_NOT_ACCEPTED",
  "EVSE_UNKNOWN",
  "EVSE_NOT_REMOTE_CAPABLE",
  "EVSE_OFFLINE",
  "NO_VEHICLE_CONNECTED",
  "EVSE_RESERVED",
  "EVSE_IN_USE",
  "EVSE_OUT_OF_SERVICE",
  "SESSION_NOT_ACTIVE",
  "SESSION_STARTING",
  "CHARGER_NOT_RESPONDING",
  "OPERATOR_UNAVAILABLE",
  "HUBJECT_ERROR",
  "HUBJECT_UNAVAILABLE",
  "CONFIGURATION_ERROR",
  "UNKNOWN_ERROR",
] as const;
export type ChargingErrorCode = (typeof CHARGING_ERROR_CODES)[number];

export interface ChargingErrorInfo {
  code: ChargingErrorCode;
  /** For the driver: short, actionable, never internal detail. */
  message: string;
  /** The OICP StatusCode.Code it came from, when there was one. */
  oicpStatusCode: string | null;
  /** The same request may succeed later without the driver changing anything (docs/oicp.md#status-codes). */
  retryable: boolean;
  /** The outcome is uncertain: the charger may still start/stop; reconcile, never resend blindly. */
  outcomeUnknown: boolean;
  /** For operators: a configuration or integration fault that needs a human. */
  operatorAlert: boolean;
}

type Entry = Omit<ChargingErrorInfo, "oicpStatusCode">;
const entry = (code: ChargingErrorCode, message: string, retryable: boolean, extra: Partial<Entry> = {}): Entry => ({
  code,
  message,
  retryable,
  outcomeUnknown: false,
  operatorAlert: false,
  ...extra,
});

const CONFIG = entry("CONFIGURATION_ERROR", "Charging is unavailable right now. Please try again later.", false, {
  operatorAlert: true,
});
const HUBJECT_INTERNAL = entry("HUBJECT_ERROR", "The roaming network had a problem. Please try again in a moment.", true);
const CONTRACT = entry("CONTRACT_NOT_ACCEPTED", "Your charging contract was not accepted here. Please contact support.", false);

const BY_OICP_CODE: Record<string, Entry> = {
  "001": HUBJECT_INTERNAL,
  "002": HUBJECT_INTERNAL,
  "009": HUBJECT_INTERNAL,
  "021": entry("OPERATOR_UNAVAILABLE", "The charging operator had a problem. Please try again in a moment.", true),
  "017": CONFIG,
  "018": CONFIG,
  "022": CONFIG,
  "300": CONFIG,
  "019": CONTRACT,
  "101": CONTRACT,
  "102": CONTRACT,
  "105": CONTRACT,
  "106": CONTRACT,
  "120": CONTRACT,
  "121": CONTRACT,
  "103": entry("CONTRACT_NOT_ACCEPTED", "Your card could not be read. Please try again.", true),
  "110": entry("CONTRACT_NOT_ACCEPTED", "Authentication timed out. Please try again.", true),
  "122": entry("CONTRACT_NOT_ACCEPTED", "Authentication timed out. Please try again.", true),
  "200": entry("CONTRACT_NOT_ACCEPTED", "Your charging contract is locked. Please contact support.", false),
  "210": entry("NO_VALID_CONTRACT", "Your contract does not cover this charging station. Please choose another one.", false),
  "310": entry(
    "CHARGER_NOT_RESPONDING",
    "The charging station did not confirm in time. It may still respond; this session updates when it does.",
    false,
    { outcomeUnknown: true },
  ),
  "320": entry("OPERATOR_UNAVAILABLE", "The charging operator is not reachable right now. Please try again later.", true),
  "400": entry("SESSION_NOT_ACTIVE", "This charging session is no longer active.", false),
  "501": entry("EVSE_OFFLINE", "The charging station is offline. Please try again in a few minutes or choose another one.", true),
  "510": entry("NO_VEHICLE_CONNECTED", "No vehicle is connected. Plug in your car, then try again.", true),
  "601": entry("EVSE_RESERVED", "This charging point is reserved. Please choose another one.", false),
  "602": entry("EVSE_IN_USE", "This charging point is already in use. Please choose another one.", false),
  "603": entry("EVSE_UNKNOWN", "This charging point is not known to the roaming network. Please choose another one.", false),
  "604": entry("EVSE_NOT_REMOTE_CAPABLE", "This charging point cannot be started from the app. Please use another one.", false),
  "700": entry("EVSE_OUT_OF_SERVICE", "This charging point is out of service. Please choose another one.", false),
};

/** Gateway-side outcomes that have no OICP code. */
export const GATEWAY_ERRORS = {
  sessionStarting: (): ChargingErrorInfo => ({
    ...entry("SESSION_STARTING", "This session is still starting. Try stopping it again in a moment.", true),
    oicpStatusCode: null,
  }),
  sessionNotActive: (): ChargingErrorInfo => ({ ...chargingErrorForOicpCode("400"), oicpStatusCode: null }),
} as const;

const UNKNOWN_CODE = entry("UNKNOWN_ERROR", "Charging could not be started. Please try again or choose another station.", false);

/** The error for an OICP StatusCode.Code ("000" is not an error: callers check Result first). */
export function chargingErrorForOicpCode(oicpCode: string): ChargingErrorInfo {
  return { ...(BY_OICP_CODE[oicpCode] ?? UNKNOWN_CODE), oicpStatusCode: oicpCode };
}

/** Failures without an OICP answer: the transport said what happened. */
export const TRANSPORT_ERRORS = {
  /** Hubject could not be reached, or told us to slow down: nothing was executed. */
  unavailable: (): ChargingErrorInfo => ({
    ...entry("HUBJECT_UNAVAILABLE", "The roaming network is not reachable right now. Please try again in a moment.", true),
    oicpStatusCode: null,
  }),
  /** We may or may not have reached the charger: never resend on our own (docs/oicp.md#lost-answer). */
  outcomeUnknown: (): ChargingErrorInfo => ({ ...chargingErrorForOicpCode("310"), oicpStatusCode: null }),
  configuration: (oicpCode: string | null): ChargingErrorInfo => ({ ...CONFIG, oicpStatusCode: oicpCode }),
} as const;

// ---- The other way: why the EMP refuses an authorization at the charger, as the OICP code it answers
// (docs/oicp.md#authorize-start). Reasons are the domain's (identifications/authorize.ts), spelled here
// as plain strings so that the vocabulary stands alone.

export interface OicpStatus {
  Code: string;
  Description: string;
}

const OICP_DESCRIPTIONS: Record<string, string> = {
  "000": "Success",
  "021": "System error",
  "022": "Data error",
  "101": "QR Code Authentication failed – Invalid Credentials",
  "102": "RFID Authentication failed – invalid UID",
  "106": "No positive authentication response",
  "120": "PLC (ISO/ IEC 15118) Authentication failed – invalid underlying EvcoID",
  "200": "EvcoID locked",
  "210": "No valid contract",
  "400": "Session is invalid",
};

/**
 * The code of a refused AuthorizeStart / AuthorizeStop: an unknown card 102, a QR code 101, a car
 * (ISO 15118) 120; blocked 200 (locked), expired 210 (no valid contract); a stop for a session we do
 * not know 400; a RemoteIdentification or a stop by someone else 106; our store down 021; unreadable 022.
 */
export function authorizationRefusalStatus(reason: string, credential: "RFID" | "QR" | "PNC" | "REMOTE" | null): OicpStatus {
  const code = (() => {
    switch (reason) {
      case "UNKNOWN":
        return credential === "RFID" ? "102" : credential === "QR" ? "101" : credential === "PNC" ? "120" : "106";
      case "WRONG_PIN":
        return "101";
      case "BLOCKED":
        return "200";
      case "EXPIRED":
        return "210";
      case "SESSION_UNKNOWN":
        return "400";
      case "UNAVAILABLE":
        return "021";
      case "MALFORMED":
        return "022";
      default:
        return "106";
    }
  })();
  return { Code: code, Description: OICP_DESCRIPTIONS[code] ?? "No positive authentication response" };
}

export const OICP_SUCCESS: OicpStatus = { Code: "000", Description: "Success" };
