// The simulated Hubject's side of offline authorization (docs/oicp.md#push-authentication-data):
// what the EMP pushed with eRoamingPushAuthenticationData, applied as Hubject describes it, and
// authorizeOffline() for the simulated charger flow, which decides from that data alone.
//
//   fullLoad  replaces the whole set (an empty list deletes everything)
//   insert    fails entirely, inserting nothing, when any record exists (AdditionalInfo says which)
//   update    fails entirely when any record does not exist
//   delete    removes the records named (one not held is no error)
//
// Records are keyed by credential, as a charger presents them: both RFID forms by UID (upper
// case), QR codes, Plug&Charge and remote identifications by EvcoID (separators and case aside).
// An EvcoID not of the pushing ProviderID refuses the whole upload with 019; a body that fails
// Hubject's validation gets Hubject's HTTP 400 (the gateway reads it as 022, docs/oicp.md#http-errors);
// a request that is well-formed but not applicable (both PIN and HashedPIN, the same credential
// twice, an insert of what exists, an update of what does not) gets Result false with 022.
import type { ServerResponse } from "node:http";
import bcrypt from "bcryptjs";
import { EVCO_ID, evcoIdKey, PROVIDER_ID } from "../oicp/wire/identifiers.js";
import type { OicpAcknowledgement } from "../oicp/wire/types.js";
import { sendJson } from "./http.js";

export const AUTHENTICATION_DATA_ACTIONS = ["fullLoad", "insert", "update", "delete"] as const;
export type AuthenticationDataAction = (typeof AUTHENTICATION_DATA_ACTIONS)[number];

const UID = /^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$/;
const HASHED_PIN = /^[0-9A-Za-z.+/=$\\]{10,100}$/;
const RFID_TYPES = ["mifareCls", "mifareDes", "calypso", "nfc", "mifareFamily"];
const HASH_FUNCTIONS = ["Bcrypt"];
const FORMS = [
  "RFIDMifareFamilyIdentification",
  "RFIDIdentification",
  "QRCodeIdentification",
  "PlugAndChargeIdentification",
  "RemoteIdentification",
] as const;
/** Hubject hashes clear PINs itself (Bcrypt); a low cost keeps the simulator quick. */
const SIMULATOR_BCRYPT_COST = 4;

/** One record as the simulated Hubject holds it: the Identification as pushed, a clear PIN replaced by its hash. */
export type HeldIdentification = Record<string, Record<string, unknown>>;

/** What the pushed data says about an identification presented at a charger. */
export interface OfflineAuthorization {
  authorized: boolean;
  /** The contract it charges: the record's EvcoID (an RFIDMifareFamilyIdentification has none: null). */
  evcoId: string | null;
  /** "000" when authorized, else the OICP code a refusal carries (101 QR, 102 RFID, 105 PnC, 022 unreadable). */
  statusCode: string;
}

/** One call as the simulator applied or refused it. */
export interface AuthenticationDataCall {
  action: AuthenticationDataAction;
  records: number;
  /** "000", or the code of the refusal (019, 022, 017). */
  code: string;
}

interface FieldError {
  fieldReference: string;
  errorMessage: string;
}

export class SimulatedAuthenticationData {
  /** Calls per action that Hubject processed (accepted or refused), not those HTTP 400 turned away. */
  readonly calls: Record<AuthenticationDataAction, number> = { fullLoad: 0, insert: 0, update: 0, delete: 0 };
  /** Records applied per action (accepted calls only). */
  readonly records: Record<AuthenticationDataAction, number> = { fullLoad: 0, insert: 0, update: 0, delete: 0 };
  /** Every processed call in order. */
  readonly history: AuthenticationDataCall[] = [];
  /** Requests turned away by validation (HTTP 400), with Hubject's field errors. */
  readonly invalid: FieldError[][] = [];
  private readonly held = new Map<string, HeldIdentification>();
  /** A push is processed while the previous one may still be (bcrypt): one at a time, like the data they change. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly providerId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The records held now, in no particular order (copies). */
  identifications(): HeldIdentification[] {
    return [...this.held.values()].map((record) => structuredClone(record));
  }

  get size(): number {
    return this.held.size;
  }

  /** Forgets everything pushed and every count. */
  reset(): void {
    this.held.clear();
    this.history.length = 0;
    this.invalid.length = 0;
    for (const action of AUTHENTICATION_DATA_ACTIONS) {
      this.calls[action] = 0;
      this.records[action] = 0;
    }
  }

  /** The push route (registered in hubject.simulator.ts; path and top-level checks done there). */
  handle(res: ServerResponse, body: Record<string, unknown>): void {
    const run = this.queue.then(() => this.apply(body));
    this.queue = run.catch(() => undefined);
    run.then(
      (answer) => sendJson(res, answer.status, answer.body),
      () => sendJson(res, 500, { StatusCode: { Code: "001", Description: "Hubject system error", AdditionalInfo: null } }),
    );
  }

  /**
   * Whether the pushed data authorizes `identification` (an OICP Identification object as a
   * charger presents it): RFIDMifareFamilyIdentification {UID} (or RFIDIdentification),
   * QRCodeIdentification {EvcoID, PIN}, PlugAndChargeIdentification {EvcoID}, RemoteIdentification {EvcoID}.
   */
  async authorizeOffline(identification: unknown): Promise<OfflineAuthorization> {
    const refused = (statusCode: string): OfflineAuthorization => ({ authorized: false, evcoId: null, statusCode });
    const presented = asRecord(identification);
    const rfid = asRecord(presented.RFIDMifareFamilyIdentification ?? presented.RFIDIdentification);
    if (typeof rfid.UID === "string") {
      const held = this.held.get(`UID:${rfid.UID.trim().toUpperCase()}`);
      if (!held) return refused("102");
      const full = held.RFIDIdentification;
      if (full) {
        const expiry = typeof full.ExpiryDate === "string" ? Date.parse(full.ExpiryDate) : Number.NaN;
        if (!Number.isNaN(expiry) && expiry <= this.now().getTime()) return refused("102");
        return { authorized: true, evcoId: typeof full.EvcoID === "string" ? full.EvcoID : null, statusCode: "000" };
      }
      return { authorized: true, evcoId: null, statusCode: "000" };
    }
    const qr = asRecord(presented.QRCodeIdentification);
    if (typeof qr.EvcoID === "string") {
      const held = this.held.get(`QR:${evcoIdKey(qr.EvcoID)}`)?.QRCodeIdentification;
      const hash = asRecord(held?.HashedPIN).Value;
      if (!held || typeof hash !== "string") return refused("101");
      const presentedHash = asRecord(qr.HashedPIN).Value;
      const ok =
        typeof qr.PIN === "string" ? await bcrypt.compare(qr.PIN, hash) : typeof presentedHash === "string" && presentedHash === hash;
      return ok ? { authorized: true, evcoId: held.EvcoID as string, statusCode: "000" } : refused("101");
    }
    for (const [form, prefix, code] of [
      ["PlugAndChargeIdentification", "PNC", "105"],
      ["RemoteIdentification", "REMOTE", "106"],
    ] as const) {
      const evco = asRecord(presented[form]).EvcoID;
      if (typeof evco !== "string") continue;
      const held = this.held.get(`${prefix}:${evcoIdKey(evco)}`)?.[form];
      return held ? { authorized: true, evcoId: held.EvcoID as string, statusCode: "000" } : refused(code);
    }
    return refused("022");
  }

  // ---------------------------------------------------------------------------------------------

  private async apply(body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    const errors: FieldError[] = [];
    const fail = (fieldReference: string, errorMessage: string) => errors.push({ fieldReference, errorMessage });
    const action = body.ActionType;
    if (typeof action !== "string" || !(AUTHENTICATION_DATA_ACTIONS as readonly string[]).includes(action)) {
      fail("actionType", `must be one of ${AUTHENTICATION_DATA_ACTIONS.join(", ")}`);
    }
    const data = body.ProviderAuthenticationData;
    const provider = asRecord(data).ProviderID;
    if (typeof data !== "object" || data === null || Array.isArray(data)) fail("providerAuthenticationData", "must not be null");
    else if (typeof provider !== "string") fail("providerAuthenticationData.providerID", "must not be null");
    else if (!PROVIDER_ID.test(provider)) fail("providerAuthenticationData.providerID", `must match "${PROVIDER_ID.source}"`);
    const list = asRecord(data).AuthenticationDataRecord;
    if (!Array.isArray(list)) fail("providerAuthenticationData.authenticationDataRecord", "must not be null");
    const records: Array<{ key: string; form: (typeof FORMS)[number]; value: Record<string, unknown>; evcoId: string | null }> = [];
    const semantic: string[] = [];
    for (const [i, item] of (Array.isArray(list) ? list : []).entries()) {
      const ref = `providerAuthenticationData.authenticationDataRecord[${i}].identification`;
      const identification = asRecord(item).Identification;
      if (typeof identification !== "object" || identification === null || Array.isArray(identification)) {
        fail(ref, "must not be null");
        continue;
      }
      const forms = FORMS.filter((form) => asRecord(identification)[form] != null);
      if (forms.length !== 1) {
        semantic.push(`record ${i}: an Identification carries exactly one form, not ${forms.length}`);
        continue;
      }
      const form = forms[0]!;
      const value = (identification as Record<string, unknown>)[form];
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail(`${ref}.${camel(form)}`, "must be an object");
        continue;
      }
      const checked = checkForm(form, value as Record<string, unknown>, `${ref}.${camel(form)}`, fail, semantic, i);
      if (checked) records.push({ ...checked, form, value: value as Record<string, unknown> });
    }
    if (errors.length > 0) {
      this.invalid.push(errors);
      return { status: 400, body: { message: "Error parsing/validating JSON.", extendedInfo: null, validationErrors: errors } };
    }
    if (provider !== this.providerId) {
      // The certificate stands for the simulator's ProviderID (docs/oicp.md#transport).
      return { status: 401, body: { StatusCode: { Code: "017", Description: "Unauthorized Access", AdditionalInfo: null } } };
    }
    const act = action as AuthenticationDataAction;
    const refuse = (code: string, description: string, info: string) => {
      this.history.push({ action: act, records: records.length, code });
      this.calls[act] += 1;
      return { status: 200, body: ack(code, description, info) };
    };
    const keys = new Set<string>();
    for (const record of records) {
      if (keys.has(record.key)) semantic.push(`the same credential twice: ${describeKey(record.key)}`);
      keys.add(record.key);
    }
    if (semantic.length > 0) return refuse("022", "Data error", semantic.slice(0, 10).join("; "));
    // EVCO consistency: every EvcoID must be of the pushing ProviderID (docs/oicp.md#push-authentication-data).
    const providerKey = evcoIdKey(this.providerId);
    const foreign = records.filter((r) => r.evcoId !== null && !evcoIdKey(r.evcoId).startsWith(providerKey));
    if (foreign.length > 0) {
      return refuse(
        "019",
        "Inconsistent EvcoID",
        `EvcoIDs not of ${this.providerId}: ${foreign.map((r) => maskEvco(r.evcoId!)).join(", ")}`,
      );
    }
    if (act === "insert") {
      const existing = records.filter((r) => this.held.has(r.key));
      if (existing.length > 0) {
        return refuse(
          "022",
          "Data error",
          `insert aborted, nothing inserted: ${existing.length} record(s) exist: ${existing.map((r) => describeKey(r.key)).join(", ")}`,
        );
      }
    }
    if (act === "update") {
      const missing = records.filter((r) => !this.held.has(r.key));
      if (missing.length > 0) {
        return refuse(
          "022",
          "Data error",
          `update aborted, nothing updated: ${missing.length} record(s) do not exist: ${missing.map((r) => describeKey(r.key)).join(", ")}`,
        );
      }
    }
    const stored = await Promise.all(records.map(async (r) => ({ key: r.key, record: await toHeld(r.form, r.value) })));
    if (act === "fullLoad") this.held.clear();
    for (const { key, record } of stored) {
      if (act === "delete") this.held.delete(key);
      else this.held.set(key, record);
    }
    this.history.push({ action: act, records: records.length, code: "000" });
    this.calls[act] += 1;
    this.records[act] += records.length;
    return { status: 200, body: ack("000", "Success", null) };
  }
}

/** Checks one form; returns its key and EvcoID, or null after reporting what is wrong. */
function checkForm(
  form: (typeof FORMS)[number],
  value: Record<string, unknown>,
  ref: string,
  fail: (fieldReference: string, errorMessage: string) => void,
  semantic: string[],
  index: number,
): { key: string; evcoId: string | null } | null {
  const before = { count: 0 };
  const failing = (field: string, message: string) => {
    before.count += 1;
    fail(`${ref}.${field}`, message);
  };
  const evco = (field: string, required: boolean): string | null => {
    const v = value[field];
    if (v === undefined || v === null) {
      if (required) failing("evcoID", "must not be null");
      return null;
    }
    if (typeof v !== "string" || !EVCO_ID.test(v)) failing("evcoID", `must match "${EVCO_ID.source}"`);
    return typeof v === "string" ? v : null;
  };
  switch (form) {
    case "RFIDMifareFamilyIdentification":
    case "RFIDIdentification": {
      const uid = value.UID;
      if (typeof uid !== "string" || !UID.test(uid)) failing("uid", `must match "${UID.source}"`);
      let evcoId: string | null = null;
      if (form === "RFIDIdentification") {
        if (typeof value.RFID !== "string" || !RFID_TYPES.includes(value.RFID)) failing("rfid", `must be one of ${RFID_TYPES.join(", ")}`);
        evcoId = evco("EvcoID", false);
        if (value.PrintedNumber != null && (typeof value.PrintedNumber !== "string" || value.PrintedNumber.length > 150)) {
          failing("printedNumber", "size must be between 0 and 150");
        }
        if (value.ExpiryDate != null && (typeof value.ExpiryDate !== "string" || Number.isNaN(Date.parse(value.ExpiryDate)))) {
          failing("expiryDate", "must be a date-time");
        }
      }
      return before.count > 0 ? null : { key: `UID:${(uid as string).toUpperCase()}`, evcoId };
    }
    case "QRCodeIdentification": {
      const evcoId = evco("EvcoID", true);
      const pin = value.PIN;
      const hashed = value.HashedPIN;
      if (pin != null && (typeof pin !== "string" || pin.length === 0 || pin.length > 20)) failing("pin", "size must be between 1 and 20");
      if (hashed != null) {
        const h = asRecord(hashed);
        if (typeof h.Value !== "string" || !HASHED_PIN.test(h.Value))
          failing("hashedPIN.value", "must be a hash value of 10 to 100 characters");
        if (typeof h.Function !== "string" || !HASH_FUNCTIONS.includes(h.Function)) failing("hashedPIN.function", "must be Bcrypt");
      }
      if ((pin == null) === (hashed == null)) semantic.push(`record ${index}: a QR code carries either PIN or HashedPIN`);
      return before.count > 0 || evcoId === null ? null : { key: `QR:${evcoIdKey(evcoId)}`, evcoId };
    }
    case "PlugAndChargeIdentification":
    case "RemoteIdentification": {
      const evcoId = evco("EvcoID", true);
      const prefix = form === "PlugAndChargeIdentification" ? "PNC" : "REMOTE";
      return before.count > 0 || evcoId === null ? null : { key: `${prefix}:${evcoIdKey(evcoId)}`, evcoId };
    }
  }
}

/** Hubject keeps PINs only as hashes: a clear PIN is hashed on arrival. */
async function toHeld(form: (typeof FORMS)[number], value: Record<string, unknown>): Promise<HeldIdentification> {
  const copy = structuredClone(value);
  if (form === "QRCodeIdentification" && typeof copy.PIN === "string") {
    copy.HashedPIN = { Value: await bcrypt.hash(copy.PIN, SIMULATOR_BCRYPT_COST), Function: "Bcrypt" };
    delete copy.PIN;
  }
  return { [form]: copy };
}

const ack = (code: string, description: string, info: string | null): OicpAcknowledgement => ({
  Result: code === "000",
  StatusCode: { Code: code, Description: description, AdditionalInfo: info === null ? null : info.slice(0, 1000) },
});

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** Hubject's camelCase field references (docs/oicp.md#http-errors, example 19). */
const camel = (name: string) => name.replace(/^[A-Z]+(?=[A-Z][a-z])|^[A-Z]/, (head) => head.toLowerCase());

/** A credential for AdditionalInfo: UIDs by their last four digits, EvcoIDs by their first six characters. */
function describeKey(key: string): string {
  const [kind, value = ""] = key.split(":");
  return kind === "UID" ? `UID …${value.slice(-4)}` : `${kind} ${maskEvco(value)}`;
}

const maskEvco = (evcoId: string) => `${evcoId.slice(0, 6)}***`;
