// The EMP's identifications: the cards, QR codes and cars with which its drivers charge at any
// charger reachable through Hubject, in every form OICP defines (docs/oicp.md#push-authentication-data,
// #authorize-start). Each belongs to one driver and charges one contract (EvcoID). Nothing here
// knows OICP's JSON; src/oicp reads and writes it.
import { evcoIdKey, isEvcoId } from "../oicp/wire/identifiers.js";

/**
 * RFID_MIFARE_FAMILY: a card known by its UID alone (RFIDMifareFamilyIdentification).
 * RFID: a card with UID, RFID technology, printed number and expiry (RFIDIdentification).
 * QR_CODE: an EvcoID and a PIN, kept only as a Bcrypt hash (QRCodeIdentification with HashedPIN).
 * PLUG_AND_CHARGE: a car that identifies itself by its contract (PlugAndChargeIdentification, ISO 15118).
 */
export const IDENTIFICATION_TYPES = ["RFID_MIFARE_FAMILY", "RFID", "QR_CODE", "PLUG_AND_CHARGE"] as const;
export type IdentificationType = (typeof IDENTIFICATION_TYPES)[number];

/** ACTIVE: it may charge. BLOCKED: by the driver (a lost card) or an operator. EXPIRED: past its expiry, or set so. */
export const IDENTIFICATION_STATUSES = ["ACTIVE", "BLOCKED", "EXPIRED"] as const;
export type IdentificationStatus = (typeof IDENTIFICATION_STATUSES)[number];

/** OICP's RFID technologies (RFIDIdentification.RFID). */
export const RFID_TYPES = ["mifareCls", "mifareDes", "calypso", "nfc", "mifareFamily"] as const;
export type RfidType = (typeof RFID_TYPES)[number];

export type BlockedBy = "DRIVER" | "OPERATOR";

export interface Identification {
  id: string;
  driverId: string;
  /** The contract it charges. */
  evcoId: string;
  type: IdentificationType;
  /** RFID types: the card's UID, upper-case hex as OICP writes it. */
  uid: string | null;
  rfidType: RfidType | null;
  printedNumber: string | null;
  /** Until when it may charge; null: no expiry. */
  expiresAt: Date | null;
  /** QR_CODE: the Bcrypt hash of the PIN. The PIN itself is never kept, logged or shown. */
  pinHash: string | null;
  /** As set; see effectiveStatus() for what an authorization decides on. */
  status: IdentificationStatus;
  blockedBy: BlockedBy | null;
  createdAt: Date;
  updatedAt: Date;
  /** Raised by every change (conditional writes, cache checks). */
  version: number;
}

/** What an operator (or the import) registers; the store adds id, times and version. */
export interface IdentificationInput {
  driverId: string;
  evcoId: string;
  type: IdentificationType;
  uid?: string | null;
  rfidType?: RfidType | null;
  printedNumber?: string | null;
  expiresAt?: Date | null;
  /** QR_CODE: the PIN in clear (hashed before it is stored) ... */
  pin?: string | null;
  /** ... or a Bcrypt hash made elsewhere. */
  pinHash?: string | null;
  status?: IdentificationStatus;
}

/** OICP's UID: 8, 14 or 20 upper-case hex digits (4, 7 or 10 bytes). */
export const UID = /^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$/;
/** OICP's HashedPIN.Value: what a Bcrypt hash is made of, 10 to 100 characters. */
export const HASHED_PIN = /^[0-9A-Za-z.+/=$]{10,100}$/;
/** A Bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters of salt and hash). */
export const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
export const PIN_MAX = 20;
export const PRINTED_NUMBER_MAX = 150;
export const DRIVER_ID_MAX = 255;

/** UID comparison key: case carries no meaning (Hubject upper-cases them), blanks and separators aside. */
export const uidKey = (uid: string): string =>
  uid
    .trim()
    .toUpperCase()
    .replace(/[\s:-]/g, "");

/**
 * The one key an identification is found by, whatever form a charger presents it in: both RFID
 * forms by UID (a card is one card), QR codes and cars by their contract. Unique in the store.
 */
export function credentialKey(type: IdentificationType, value: { uid?: string | null; evcoId?: string | null }): string | null {
  switch (type) {
    case "RFID_MIFARE_FAMILY":
    case "RFID":
      return value.uid ? `UID:${uidKey(value.uid)}` : null;
    case "QR_CODE":
      return value.evcoId ? `QR:${evcoIdKey(value.evcoId)}` : null;
    case "PLUG_AND_CHARGE":
      return value.evcoId ? `PNC:${evcoIdKey(value.evcoId)}` : null;
  }
}

export const credentialKeyOf = (identification: Pick<Identification, "type" | "uid" | "evcoId">): string =>
  credentialKey(identification.type, identification) ?? `ID:${identification.type}`;

/** What an authorization decides on: ACTIVE past its expiry is EXPIRED. */
export function effectiveStatus(identification: Identification, now: Date): IdentificationStatus {
  if (identification.status !== "ACTIVE") return identification.status;
  return identification.expiresAt && identification.expiresAt.getTime() <= now.getTime() ? "EXPIRED" : "ACTIVE";
}

/** A UID for logs: its last four digits. Full UIDs and PINs never reach a log, a metric or an error. */
export const maskUid = (uid: string | null): string | null => (uid ? `…${uidKey(uid).slice(-4)}` : null);

/**
 * Checks an input against OICP's formats and the registry's rules; returns each problem, naming
 * the field (an operator fixes the row from it). Never echoes a PIN.
 */
export function checkIdentificationInput(input: IdentificationInput): string[] {
  const problems: string[] = [];
  if (typeof input.driverId !== "string" || input.driverId.trim() === "" || input.driverId.length > DRIVER_ID_MAX) {
    problems.push(`driver: must be a non-empty id of at most ${DRIVER_ID_MAX} characters`);
  }
  if (typeof input.evcoId !== "string" || !isEvcoId(input.evcoId.trim())) problems.push("evco_id: not an EvcoID in OICP's format");
  if (!IDENTIFICATION_TYPES.includes(input.type)) {
    problems.push(`type: must be one of ${IDENTIFICATION_TYPES.join(", ")}`);
    return problems;
  }
  const rfid = input.type === "RFID" || input.type === "RFID_MIFARE_FAMILY";
  if (rfid) {
    if (!input.uid || !UID.test(uidKey(input.uid))) problems.push("uid: must be 8, 14 or 20 hexadecimal digits (OICP UID)");
  } else if (input.uid) {
    problems.push(`uid: only RFID identifications have one, not ${input.type}`);
  }
  if (input.type === "RFID") {
    if (!input.rfidType || !RFID_TYPES.includes(input.rfidType)) problems.push(`rfid_type: must be one of ${RFID_TYPES.join(", ")}`);
  } else if (input.rfidType) {
    problems.push("rfid_type: only RFID identifications have one");
  }
  if (input.printedNumber != null && (input.printedNumber.length === 0 || input.printedNumber.length > PRINTED_NUMBER_MAX)) {
    problems.push(`printed_number: at most ${PRINTED_NUMBER_MAX} characters`);
  }
  if (input.expiresAt != null && Number.isNaN(input.expiresAt.getTime())) problems.push("expires_at: not a date-time");
  if (input.type === "QR_CODE") {
    const hasPin = input.pin != null && input.pin !== "";
    const hasHash = input.pinHash != null && input.pinHash !== "";
    if (hasPin === hasHash) problems.push("pin: a QR code needs either a PIN or a Bcrypt PIN hash, not both");
    if (hasPin && (input.pin!.length > PIN_MAX || /\s/.test(input.pin!))) problems.push(`pin: at most ${PIN_MAX} characters, no blanks`);
    if (hasHash && !BCRYPT_HASH.test(input.pinHash!)) problems.push("pin_hash: must be a Bcrypt hash ($2b$…)");
  } else if (input.pin || input.pinHash) {
    problems.push("pin: only QR_CODE identifications have one");
  }
  if (input.status !== undefined && !IDENTIFICATION_STATUSES.includes(input.status)) {
    problems.push(`status: must be one of ${IDENTIFICATION_STATUSES.join(", ")}`);
  }
  return problems;
}
