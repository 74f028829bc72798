// Driver authentication: a JWT whose `sub` is the driver, whose `evco_ids` are the contracts
// the driver may charge with, and whose optional `roles` may open the operator operations
// (OPERATOR_ROLE). Dev: HS256 with AUTH_JWT_SECRET; real: the identity provider's JWKS (jose
// caches and rotates keys). Algorithms, issuer and audience are pinned.
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyOptions, errors as joseErrors, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import type { AuthConfig } from "../config/config.js";
import { unauthenticated } from "../errors.js";
import { isEvcoId } from "../oicp/wire/identifiers.js";
import type { Driver } from "../sessions/session.js";

export interface AuthenticatedDriver extends Driver {
  /** When the token stops being valid; long-lived sockets re-check it. */
  expiresAt: Date | null;
  /** The token's `roles` claim ([] without one); context.ts#requireOperator reads it. */
  roles: readonly string[];
}

export interface Authenticator {
  /** Verifies a bearer token; throws an UNAUTHENTICATED GraphQLError when it is missing or invalid. */
  authenticate(token: string | undefined | null): Promise<AuthenticatedDriver>;
}

const ASYMMETRIC_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];

export interface AuthenticatorOptions {
  /** How long fetched JWKS keys are trusted before a refetch (jose default 10 min). */
  jwksCacheMaxAgeMs?: number;
  /** Minimum time between two JWKS fetches, e.g. on an unknown `kid` after a rotation (jose default 30 s). */
  jwksCooldownMs?: number;
}

export function createAuthenticator(config: AuthConfig, jwksOptions: AuthenticatorOptions = {}): Authenticator {
  const options: JWTVerifyOptions = {
    algorithms: config.mode === "secret" ? ["HS256"] : ASYMMETRIC_ALGORITHMS,
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
    requiredClaims: ["sub"],
  };
  const verify =
    config.mode === "secret"
      ? (
          (key: Uint8Array) => (token: string) =>
            jwtVerify(token, key, options)
        )(new TextEncoder().encode(config.secret))
      : (
          (jwks: ReturnType<typeof createRemoteJWKSet>) => (token: string) =>
            jwtVerify(token, jwks, options)
        )(
          // jose caches the keys and refetches on an unknown `kid`, so a rotation at the identity
          // provider needs no restart; the cooldown keeps a flood of bad tokens from hammering it.
          createRemoteJWKSet(new URL(config.jwksUrl), {
            ...(jwksOptions.jwksCacheMaxAgeMs === undefined ? {} : { cacheMaxAge: jwksOptions.jwksCacheMaxAgeMs }),
            ...(jwksOptions.jwksCooldownMs === undefined ? {} : { cooldownDuration: jwksOptions.jwksCooldownMs }),
          }),
        );

  // Apps send the same token with every request for its whole life. A verification is a WebCrypto
  // job on libuv's threadpool (profiled: the main thread idled a third of the time on it), so a
  // verified token is remembered until it expires. Only successes are cached (nobody without a
  // signed token adds anything), the size is bounded by count and by characters, and an expired
  // entry is never served.
  const verified = new LRUCache<string, AuthenticatedDriver>({
    max: VERIFIED_TOKENS_MAX,
    maxSize: VERIFIED_TOKEN_CHARS,
    sizeCalculation: (driver, token) => token.length + driver.id.length + driver.evcoIds.join("").length + driver.roles.join("").length,
  });

  return {
    async authenticate(token) {
      if (!token) throw unauthenticated();
      const known = verified.get(token);
      if (known) {
        if (!known.expiresAt || known.expiresAt.getTime() > Date.now()) return known;
        verified.delete(token);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await verify(token));
      } catch (error) {
        throw unauthenticated(
          error instanceof joseErrors.JWTExpired
            ? "Your session has expired. Sign in again."
            : "Your access token is not valid. Sign in again.",
        );
      }
      const driver = toDriver(payload);
      verified.set(token, driver);
      return driver;
    },
  };
}

/** Tokens remembered after verification (least recently used dropped first), and their characters with their claims. */
const VERIFIED_TOKENS_MAX = 10_000;
const VERIFIED_TOKEN_CHARS = 16 * 1024 * 1024;

/**
 * A verified token's claims as a driver. jose checks the signature and the registered time claims,
 * not what `sub`, `evco_ids` or `roles` hold: a token whose claims have the wrong shape is refused as a
 * whole (UNAUTHENTICATED), never read half-way (a `sub` of ["alice"] must not become alice).
 */
function toDriver(payload: JWTPayload): AuthenticatedDriver {
  const { sub, evco_ids: claimed, roles: claimedRoles } = payload;
  if (typeof sub !== "string" || sub.trim() === "") throw invalidClaims("sub must be a non-empty string");
  let evcoIds: string[] = [];
  if (claimed !== undefined) {
    if (!Array.isArray(claimed)) throw invalidClaims("evco_ids must be a list of EvcoIDs");
    const bad = claimed.findIndex((v) => typeof v !== "string" || !isEvcoId(v));
    // The index, not the value: error messages carry no contract ids.
    if (bad >= 0) throw invalidClaims(`evco_ids[${bad}] is not a valid EvcoID`);
    evcoIds = claimed as string[];
  }
  let roles: string[] = [];
  if (claimedRoles !== undefined) {
    if (!Array.isArray(claimedRoles)) throw invalidClaims("roles must be a list of role names");
    const bad = claimedRoles.findIndex((v) => typeof v !== "string" || v.trim() === "");
    if (bad >= 0) throw invalidClaims(`roles[${bad}] is not a non-empty string`);
    roles = claimedRoles as string[];
  }
  return {
    id: sub,
    evcoIds,
    roles,
    expiresAt: typeof payload.exp === "number" ? new Date(payload.exp * 1000) : null,
  };
}

const invalidClaims = (problem: string) => unauthenticated(`The access token's claims are not valid: ${problem}.`);

/** "Bearer <token>" -> token; anything else -> undefined. */
export function bearerToken(header: string | string[] | undefined | null): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
}

/** Milliseconds until the token expires (never negative); null when it has no `exp`. */
export function msUntilExpiry(driver: AuthenticatedDriver, now = Date.now()): number | null {
  return driver.expiresAt ? Math.max(0, driver.expiresAt.getTime() - now) : null;
}
