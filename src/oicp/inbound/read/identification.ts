// Identification (docs/oicp.md#cdr, #charger-sessions): which contract or card a message names.
// Real payloads carry exactly one variant; RFID cards carry a UID and no EvcoID.
import { isRecord, readString } from "../../../lib/json.js";
import type { FieldReader } from "./fields.js";
import { Refusal } from "./fields.js";

export interface ReadIdentification {
  /** The contract, from RemoteIdentification, PlugAndChargeIdentification or QRCodeIdentification. */
  evcoId: string | null;
  /** The card, from RFIDMifareFamilyIdentification or RFIDIdentification. */
  uid: string | null;
}

const CONTRACT_VARIANTS = ["RemoteIdentification", "PlugAndChargeIdentification", "QRCodeIdentification"] as const;
const CARD_VARIANTS = ["RFIDMifareFamilyIdentification", "RFIDIdentification"] as const;

export function readIdentification(reader: FieldReader, required: boolean): ReadIdentification {
  const node = reader.body.Identification;
  if (!isRecord(node)) {
    if (required) throw new Refusal("Identification", node === undefined || node === null ? "missing" : "must be an object");
    return { evcoId: null, uid: null };
  }
  let evcoId: string | null = null;
  for (const variant of CONTRACT_VARIANTS) {
    const value = node[variant];
    if (isRecord(value)) evcoId ??= readString(value.EvcoID);
  }
  let uid: string | null = null;
  for (const variant of CARD_VARIANTS) {
    const value = node[variant];
    if (isRecord(value)) uid ??= readString(value.UID);
  }
  if (required && evcoId === null && uid === null) throw new Refusal("Identification", "names no EvcoID and no UID");
  return { evcoId, uid };
}
