// Prints a development token: npm run token -- --sub alice --evco 'DE-GQL-C00000001-7' [--evco ...] [--ttl 12h]
// [--role emp-operator] (repeatable: the token's `roles` claim; OPERATOR_ROLE opens the operator operations)

import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { ConfigError, loadConfig } from "../config/config.js";

const { values } = parseArgs({
  options: {
    sub: { type: "string" },
    evco: { type: "string", multiple: true },
    role: { type: "string", multiple: true },
    ttl: { type: "string", default: "12h" },
  },
});

try {
  const config = loadConfig();
  if (config.auth.mode !== "secret") {
    throw new Error("npm run token signs with AUTH_JWT_SECRET; with AUTH_JWKS_URL set, get tokens from your identity provider.");
  }
  if (!values.sub) throw new Error("Usage: npm run token -- --sub <driver> --evco <EvcoID> [--evco <EvcoID>] [--role <name>] [--ttl 12h]");
  if (values.role?.some((role) => role.trim() === "")) throw new Error("--role needs a name, e.g. --role emp-operator");
  let jwt = new SignJWT({ evco_ids: values.evco ?? [], ...(values.role?.length ? { roles: values.role } : {}) })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(values.sub)
    .setIssuedAt()
    .setExpirationTime(values.ttl ?? "12h");
  if (config.auth.issuer) jwt = jwt.setIssuer(config.auth.issuer);
  if (config.auth.audience) jwt = jwt.setAudience(config.auth.audience);
  console.log(await jwt.sign(new TextEncoder().encode(config.auth.secret)));
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
}
