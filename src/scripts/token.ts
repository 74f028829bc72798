// Prints a development token: npm run -s token -- --sub alice --evco 'DE-GQL-C00000001-7' [--evco ...] [--ttl 12h]
// [--role emp-operator] (repeatable: the token's `roles` claim; OPERATOR_ROLE opens the operator operations)

import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { loadConfig } from "../config/config.js";
import { isEvcoId } from "../oicp/wire/identifiers.js";

const USAGE = `Prints a development token signed with AUTH_JWT_SECRET (the built-in development secret when unset).

Usage: npm run -s token -- --sub <driver> [--evco <EvcoID>]... [--role <name>]... [--ttl 12h]

  --sub    the driver (the token's sub), e.g. alice
  --evco   a contract the driver may charge with, in OICP's format, e.g. DE-GQL-C00000001-7 (repeatable)
  --role   a role, e.g. emp-operator for the identifications registry's operator operations (repeatable)
  --ttl    how long it is valid: 30m, 12h, 7d (default 12h)
  --help   this text

Example: TOKEN=$(npm run -s token -- --sub alice --evco DE-GQL-C00000001-7)`;

function fail(message: string): never {
  console.error(`${message}\n\nRun npm run -s token -- --help for the options.`);
  process.exit(1);
}

let values: { sub?: string; evco?: string[]; role?: string[]; ttl?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: "string" },
      evco: { type: "string", multiple: true },
      role: { type: "string", multiple: true },
      ttl: { type: "string", default: "12h" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.sub || values.sub.trim() === "") fail("--sub is required: the driver's id, e.g. --sub alice");
for (const evco of values.evco ?? []) {
  if (!isEvcoId(evco)) fail(`--evco ${JSON.stringify(evco)} is not an EvcoID in OICP's format (e.g. DE-GQL-C00000001-7)`);
}
if (values.role?.some((role) => role.trim() === "")) fail("--role needs a name, e.g. --role emp-operator");
if (!/^\d+\s*[smhdw]$/.test(values.ttl ?? "12h")) fail(`--ttl ${JSON.stringify(values.ttl)}: use a number and a unit, e.g. 30m, 12h or 7d`);

try {
  const config = loadConfig();
  if (config.auth.mode !== "secret") {
    fail("npm run token signs with AUTH_JWT_SECRET; with AUTH_JWKS_URL set, get tokens from your identity provider.");
  }
  let jwt = new SignJWT({ evco_ids: values.evco ?? [], ...(values.role?.length ? { roles: values.role } : {}) })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(values.sub)
    .setIssuedAt()
    .setExpirationTime(values.ttl ?? "12h");
  if (config.auth.issuer) jwt = jwt.setIssuer(config.auth.issuer);
  if (config.auth.audience) jwt = jwt.setAudience(config.auth.audience);
  console.log(await jwt.sign(new TextEncoder().encode(config.auth.secret)));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
