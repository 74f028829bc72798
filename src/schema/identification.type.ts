// The EMP's identifications (src/identifications) as the apps and the operators see them. A PIN
// or its hash is never a field: `hasPin` says whether there is one. Drivers see their cards'
// UIDs shortened (the resolver masks them); operators see them in full.
import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import {
  type BlockedBy,
  IDENTIFICATION_STATUSES,
  IDENTIFICATION_TYPES,
  type IdentificationStatus,
  type IdentificationType,
  RFID_TYPES,
  type RfidType,
} from "../identifications/identification.js";
import { PageInfo } from "./connection.type.js";

const typeValues = Object.fromEntries(IDENTIFICATION_TYPES.map((t) => [t, t])) as { [K in IdentificationType]: K };
registerEnumType(typeValues, {
  name: "IdentificationType",
  description: "How a driver identifies at a charger, in OICP's forms.",
  valuesConfig: {
    RFID_MIFARE_FAMILY: { description: "A card known by its UID alone (OICP RFIDMifareFamilyIdentification)." },
    RFID: { description: "A card with UID, RFID technology, printed number and expiry (OICP RFIDIdentification)." },
    QR_CODE: { description: "A QR code: the contract and a PIN, kept only as a Bcrypt hash (OICP QRCodeIdentification)." },
    PLUG_AND_CHARGE: { description: "A car that identifies itself by its contract, ISO 15118 (OICP PlugAndChargeIdentification)." },
  },
});

const statusValues = Object.fromEntries(IDENTIFICATION_STATUSES.map((s) => [s, s])) as { [K in IdentificationStatus]: K };
/** The IdentificationStatus enum, for arguments and field resolvers. */
export const IdentificationStatusEnum = statusValues;
registerEnumType(statusValues, {
  name: "IdentificationStatus",
  valuesConfig: {
    ACTIVE: { description: "It may charge." },
    BLOCKED: { description: "Blocked by the driver (a lost card) or by the EMP: every charger refuses it." },
    EXPIRED: { description: "Past its expiry, or set so by the EMP." },
  },
});

const rfidTypeValues = Object.fromEntries(RFID_TYPES.map((t) => [t, t])) as { [K in RfidType]: K };
registerEnumType(rfidTypeValues, {
  name: "RfidType",
  description: "The card's RFID technology, as OICP names it (RFIDIdentification.RFID).",
});

const blockedByValues = { DRIVER: "DRIVER", OPERATOR: "OPERATOR" } as const satisfies Record<BlockedBy, BlockedBy>;
registerEnumType(blockedByValues, { name: "BlockedBy", description: "Who blocked an identification." });

const changeValues = { CREATED: "CREATED", UPDATED: "UPDATED", UNCHANGED: "UNCHANGED" } as const;
export type RegistrationChange = keyof typeof changeValues;
registerEnumType(changeValues, {
  name: "RegistrationChange",
  description: "What a registration did. Registering what is already registered changes nothing (UNCHANGED).",
});

export const IDENTIFICATION_ERROR_CODES = ["NOT_FOUND", "INVALID_INPUT", "CONFLICT", "NOT_ALLOWED"] as const;
export type IdentificationErrorCode = (typeof IDENTIFICATION_ERROR_CODES)[number];
const errorCodeValues = Object.fromEntries(IDENTIFICATION_ERROR_CODES.map((c) => [c, c])) as { [K in IdentificationErrorCode]: K };
registerEnumType(errorCodeValues, {
  name: "IdentificationErrorCode",
  valuesConfig: {
    NOT_FOUND: { description: "No such identification (or not one of yours)." },
    INVALID_INPUT: { description: "The registration was refused; `problems` names each field." },
    CONFLICT: { description: "It is being changed elsewhere at the same moment; try again." },
    NOT_ALLOWED: { description: "Only the EMP may make this change." },
  },
});

@ObjectType({ description: "A card, QR code or car with which a driver charges at any charger reachable through Hubject." })
export class Identification {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "The driver it belongs to (the token's `sub`)." })
  driverId!: string;

  @Field(() => typeValues)
  type!: IdentificationType;

  @Field(() => blockedByValues, { nullable: true, description: "Set while BLOCKED." })
  blockedBy!: BlockedBy | null;

  @Field(() => String, { description: "The contract (EvcoID) it charges." })
  evcoId!: string;

  @Field(() => rfidTypeValues, { nullable: true })
  rfidType!: RfidType | null;

  @Field(() => String, { nullable: true, description: "The number printed on the card." })
  printedNumber!: string | null;

  @Field(() => Date, { nullable: true, description: "Until when it may charge; null: no expiry." })
  expiresAt!: Date | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class IdentificationEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Identification)
  node!: Identification;
}

@ObjectType({ description: "Identifications in id order." })
export class IdentificationConnection {
  @Field(() => [IdentificationEdge])
  edges!: IdentificationEdge[];

  @Field(() => [Identification])
  nodes!: Identification[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "One thing wrong with a registration." })
export class IdentificationProblem {
  @Field(() => String, { description: 'The input field it is about, e.g. "uid"; "uid/evcoId" for the credential as a whole.' })
  field!: string;

  @Field(() => String, { description: "What is wrong, naming the field. Never contains a PIN." })
  message!: string;
}

@ObjectType({ description: "An expected outcome that is not a success: nothing was changed." })
export class IdentificationError {
  @Field(() => errorCodeValues)
  code!: IdentificationErrorCode;

  @Field(() => String)
  message!: string;

  @Field(() => [IdentificationProblem], { description: "INVALID_INPUT: each problem, by field; otherwise empty." })
  problems!: IdentificationProblem[];

  @Field(() => Boolean, { description: "Whether trying the same request again later can succeed." })
  retryable!: boolean;
}

@InputType({ description: "An identification to register (or to update: the same UID or QR/Plug&Charge contract is the same one)." })
export class RegisterIdentificationInput {
  @Field(() => String, { description: "The driver it belongs to (their token's `sub`)." })
  driverId!: string;

  @Field(() => String, { description: "The contract (EvcoID) it charges, e.g. DE-GQL-C00000001-7." })
  evcoId!: string;

  @Field(() => typeValues)
  type!: IdentificationType;

  @Field(() => String, { nullable: true, description: "RFID types: the card's UID, 8, 14 or 20 hexadecimal digits." })
  uid?: string | null;

  @Field(() => rfidTypeValues, { nullable: true, description: "RFID: required." })
  rfidType?: RfidType | null;

  @Field(() => String, { nullable: true })
  printedNumber?: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true, description: "QR_CODE: the PIN in clear; only its Bcrypt hash is kept. Never shown again." })
  pin?: string | null;

  @Field(() => String, { nullable: true, description: "QR_CODE: a Bcrypt hash of the PIN made elsewhere (instead of `pin`)." })
  pinHash?: string | null;

  @Field(() => statusValues, {
    nullable: true,
    description: "Omitted: ACTIVE when new, else the stored status is kept (registering again never unblocks).",
  })
  status?: IdentificationStatus | null;
}

@ObjectType()
export class RegisterIdentificationPayload {
  @Field(() => Identification, { nullable: true })
  identification!: Identification | null;

  @Field(() => changeValues, { nullable: true, description: "Set when the registration went through." })
  change!: RegistrationChange | null;

  @Field(() => IdentificationError, { nullable: true })
  error!: IdentificationError | null;
}

@ObjectType()
export class BlockIdentificationPayload {
  @Field(() => Identification, { nullable: true })
  identification!: Identification | null;

  @Field(() => IdentificationError, { nullable: true })
  error!: IdentificationError | null;
}

@ObjectType()
export class SetIdentificationStatusPayload {
  @Field(() => Identification, { nullable: true })
  identification!: Identification | null;

  @Field(() => IdentificationError, { nullable: true })
  error!: IdentificationError | null;
}
