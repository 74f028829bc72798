// An identification of the registry as OICP writes it (docs/oicp.md#push-authentication-data):
// what PushAuthenticationData sends to Hubject and what an AuthorizationStart names as allowed
// to stop. A QR code's PIN goes only as its Bcrypt hash (HashedPIN), never in clear.

/** The fields of a registry identification (src/identifications) that OICP carries; structural, so the vocabulary stands alone. */
export interface Identification {
  type: "RFID_MIFARE_FAMILY" | "RFID" | "QR_CODE" | "PLUG_AND_CHARGE";
  evcoId: string;
  uid: string | null;
  rfidType: string | null;
  printedNumber: string | null;
  expiresAt: Date | null;
  pinHash: string | null;
}

export type OicpIdentification =
  | { RFIDMifareFamilyIdentification: { UID: string } }
  | {
      RFIDIdentification: {
        UID: string;
        RFID: string;
        EvcoID?: string;
        PrintedNumber?: string;
        ExpiryDate?: string;
      };
    }
  | { QRCodeIdentification: { EvcoID: string; HashedPIN: { Value: string; Function: "Bcrypt" } } }
  | { PlugAndChargeIdentification: { EvcoID: string } };

/** The OICP form of an identification (its UID upper-case hex, as OICP's UID pattern wants). */
export function toOicpIdentification(identification: Identification): OicpIdentification {
  switch (identification.type) {
    case "RFID_MIFARE_FAMILY":
      return { RFIDMifareFamilyIdentification: { UID: identification.uid ?? "" } };
    case "RFID":
      return {
        RFIDIdentification: {
          UID: identification.uid ?? "",
          RFID: identification.rfidType ?? "mifareFamily",
          EvcoID: identification.evcoId,
          ...(identification.printedNumber ? { PrintedNumber: identification.printedNumber } : {}),
          ...(identification.expiresAt ? { ExpiryDate: identification.expiresAt.toISOString() } : {}),
        },
      };
    case "QR_CODE":
      return {
        QRCodeIdentification: { EvcoID: identification.evcoId, HashedPIN: { Value: identification.pinHash ?? "", Function: "Bcrypt" } },
      };
    case "PLUG_AND_CHARGE":
      return { PlugAndChargeIdentification: { EvcoID: identification.evcoId } };
  }
}

/**
 * What a charger may accept to stop a session (AuthorizationStopIdentifications): cards as
 * RFIDMifareFamilyIdentification (the form authorizations use; RFIDIdentification must not be
 * used there), cars by their contract. A QR code is left out: the list goes to the CPO, and our
 * PIN hash stays ours (a QR stop still works: the CPO asks us with AuthorizeStop).
 */
export function toOicpStopIdentification(identification: Identification): Record<string, unknown> | null {
  switch (identification.type) {
    case "RFID_MIFARE_FAMILY":
    case "RFID":
      return { RFIDMifareFamilyIdentification: { UID: identification.uid ?? "" } };
    case "QR_CODE":
      return null;
    case "PLUG_AND_CHARGE":
      return { PlugAndChargeIdentification: { EvcoID: identification.evcoId } };
  }
}
