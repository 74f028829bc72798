// Validates the requests the gateway sends against Hubject's own EMP OpenAPI bundle
// (docs/oicp/openapi/bundled/emp-openapi.yaml, kept unchanged), with the known errata applied here,
// visibly, one comment per erratum (docs/oicp.md#errata). The leading document is the AsciiDoc SPEC;
// the OAS is a useful but imperfect machine-readable copy.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";
import { PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX } from "../../src/oicp/wire/identifiers.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OPENAPI_DIR = path.join(repoRoot, "docs", "oicp", "openapi");
export const EMP_OPENAPI_FILE = path.join(OPENAPI_DIR, "bundled", "emp-openapi.yaml");

/** Request schemas of the operations the datasource sends, by their component name in the bundle. */
export const OICP_REQUEST_SCHEMAS = [
  "eRoamingAuthorizeRemoteStart",
  "eRoamingAuthorizeRemoteStop",
  "eRoamingPullEVSEStatusByID",
  "eRoamingGetChargeDetailRecords",
  "eRoamingPushAuthenticationData",
  "eRoamingPullEVSEData",
  "eRoamingPullEVSEStatus",
  "eRoamingPullEVSEStatusByOperatorID",
] as const;
export type OicpRequestOperation = (typeof OICP_REQUEST_SCHEMAS)[number];

export interface ValidationResult {
  valid: boolean;
  errors: string[];
}

type Json = Record<string, unknown>;

const RAW_ID = "oicp-emp-raw";
const PATCHED_ID = "oicp-emp-errata";

interface Loaded {
  raw: Json;
  patched: Json;
  rawValidators: Map<OicpRequestOperation, ValidateFunction>;
  patchedValidators: Map<OicpRequestOperation, ValidateFunction>;
}
let loaded: Loaded | undefined;

/** Validates a request body against the OAS schema of `operation`, errata applied. */
export function validateOicpRequest(operation: OicpRequestOperation, body: unknown): ValidationResult {
  return run(load().patchedValidators.get(operation), body);
}

/** The same, against the unmodified OAS: only for proving that an erratum matters. */
export function validateAgainstRawOpenApi(operation: OicpRequestOperation, body: unknown): ValidationResult {
  return run(load().rawValidators.get(operation), body);
}

/**
 * The path the OAS declares for `operation`, errata applied, below the `/api/oicp` prefix.
 * Every operation we send takes `{providerID}`.
 */
export function oicpRequestPath(operation: OicpRequestOperation, providerId: string): string {
  const paths = load().patched.paths as Record<string, Json>;
  const ref = `#/components/schemas/${operation}`;
  const matches = Object.keys(paths).filter((p) => JSON.stringify(paths[p]?.post ?? {}).includes(`"${ref}"`));
  if (matches.length !== 1) throw new Error(`expected one OAS path for ${operation}, found ${matches.join(", ") || "none"}`);
  return `/api/oicp${matches[0]!.replace("{providerID}", encodeURIComponent(providerId))}`;
}

/** How many OpenAPI 3 `nullable` keywords the bundle has (Ajv 8 honours them natively). */
export function countNullableKeywords(): number {
  let count = 0;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "nullable") count += 1;
        walk(value);
      }
    }
  };
  walk(load().raw);
  return count;
}

// ---------------------------------------------------------------------------------------------

function load(): Loaded {
  if (loaded) return loaded;
  // yaml 2 parses YAML 1.2 (core schema): the OpeningTimes key `on` stays a string (docs/oicp.md#e14).
  const raw = parse(readFileSync(EMP_OPENAPI_FILE, "utf8")) as Json;
  const patched = applyErrata(structuredClone(raw));

  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    // The OAS patterns escape "-" outside character classes (ProviderID: `[A-Za-z]{2}\-?`),
    // which is a syntax error under the `u` flag Ajv uses by default.
    unicodeRegExp: false,
  });
  // ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
  addFormatsModule.default(ajv);
  ajv.addSchema(raw, RAW_ID);
  ajv.addSchema(patched, PATCHED_ID);

  const compileAll = (id: string): Map<OicpRequestOperation, ValidateFunction> =>
    new Map(OICP_REQUEST_SCHEMAS.map((name) => [name, ajv.compile({ $ref: `${id}#/components/schemas/${name}` })]));
  loaded = { raw, patched, rawValidators: compileAll(RAW_ID), patchedValidators: compileAll(PATCHED_ID) };
  return loaded;
}

function applyErrata(doc: Json): Json {
  const schemas = (doc.components as Json).schemas as Record<string, Json>;
  const schema = (name: string): Json => {
    const found = schemas[name];
    if (!found) throw new Error(`OAS has no components.schemas.${name}`);
    return found;
  };
  const properties = (name: string): Record<string, Json> => schema(name).properties as Record<string, Json>;

  // E2: SessionID is listed as required on remote start, but the EMP must not send it:
  // Hubject creates the SessionID (SPEC best practice, docs/oicp.md#remote-start).
  const remoteStart = schema("eRoamingAuthorizeRemoteStart");
  remoteStart.required = (remoteStart.required as string[]).filter((field) => field !== "SessionID");

  // E6: the OAS names the flag CDRForwarder; Hubject reads CDRForwarded (its own example in the
  // same schema uses CDRForwarded). Accept CDRForwarded as a boolean and refuse the misspelling,
  // which Hubject would silently ignore.
  const getCdrs = schema("eRoamingGetChargeDetailRecords");
  const getCdrsProps = properties("eRoamingGetChargeDetailRecords");
  getCdrsProps.CDRForwarded = getCdrsProps.CDRForwarder ?? { type: "boolean" };
  delete getCdrsProps.CDRForwarder;
  getCdrs.not = { required: ["CDRForwarder"] };

  // E3: lengths are written as `maximum:` (a number keyword) on strings, so validators ignore
  // them. Enforce the ones our requests carry: partner session ids 250, PartnerProductID 50.
  for (const name of ["eRoamingAuthorizeRemoteStart", "eRoamingAuthorizeRemoteStop"]) {
    const props = properties(name);
    for (const field of ["CPOPartnerSessionID", "EMPPartnerSessionID"]) {
      const prop = props[field];
      if (!prop) throw new Error(`OAS ${name} has no ${field}`);
      prop.maxLength = PARTNER_SESSION_ID_MAX;
    }
  }
  schema("ProductID").maxLength = PRODUCT_ID_MAX;

  // E1: remote stop's path segment is `{externalID}`; it is the ProviderID.
  const paths = doc.paths as Record<string, Json>;
  renamePath(
    paths,
    "/charging/v21/providers/{externalID}/authorize-remote/stop",
    "/charging/v21/providers/{providerID}/authorize-remote/stop",
  );

  // E4: the OAS models the by-id pull as a `oneOf` body on /status-records; the real endpoint is
  // /status-records-by-id (SPEC snippets, Hubject's 2.2 Swagger, WWCP).
  const statusRecords = paths["/evsepull/v21/providers/{providerID}/status-records"];
  if (!statusRecords) throw new Error("OAS has no /status-records path");
  paths["/evsepull/v21/providers/{providerID}/status-records-by-id"] = {
    post: { requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/eRoamingPullEVSEStatusByID" } } } } },
  };
  const oneOf = (((statusRecords.post as Json).requestBody as Json).content as Record<string, Json>)["application/json"]!.schema as Json;
  oneOf.oneOf = (oneOf.oneOf as Json[]).filter((alt) => alt.$ref !== "#/components/schemas/eRoamingPullEVSEStatusByID");

  return doc;
}

function renamePath(paths: Record<string, Json>, from: string, to: string): void {
  const item = paths[from];
  if (!item) throw new Error(`OAS has no path ${from}`);
  delete paths[from];
  paths[to] = item;
}

function run(validate: ValidateFunction | undefined, body: unknown): ValidationResult {
  if (!validate) throw new Error("unknown OICP operation");
  const valid = validate(body);
  return {
    valid,
    errors: valid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`.trim()),
  };
}

/**
 * Validates any message of the EMP OAS by its component schema name (errata applied): what the
 * gateway answers Hubject (eRoamingAuthorizationStart, eRoamingAuthorizationStop) or what the
 * simulator sends it (eRoamingAuthorizeStart, eRoamingAuthorizeStop).
 */
export function validateOicpSchema(schemaName: string, body: unknown): ValidationResult {
  const state = load();
  let validate = schemaValidators.get(schemaName);
  if (!validate) {
    const schemas = (state.patched.components as Json).schemas as Record<string, Json>;
    if (!schemas[schemaName]) throw new Error(`OAS has no components.schemas.${schemaName}`);
    validate = schemaAjv().compile({ $ref: `${PATCHED_ID}#/components/schemas/${schemaName}` });
    schemaValidators.set(schemaName, validate);
  }
  return run(validate, body);
}

const schemaValidators = new Map<string, ValidateFunction>();
let sharedAjv: Ajv | undefined;
function schemaAjv(): Ajv {
  if (sharedAjv) return sharedAjv;
  sharedAjv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormatsModule.default(sharedAjv);
  sharedAjv.addSchema(load().patched, PATCHED_ID);
  return sharedAjv;
}
