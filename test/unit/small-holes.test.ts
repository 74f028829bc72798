// The pure pieces of issue 12's small holes: the production secret rules, who may get development
// tokens, the token claims the authenticator accepts, and one charging command per document.
// Over real sockets: test/e2e/small-holes.e2e.test.ts.
import { parse, specifiedRules, validate } from "graphql";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { devTokenSigning } from "../../src/app/graphql.js";
import { loadConfig } from "../../src/config/config.js";
import { DEV_JWT_SECRET } from "../../src/config/env.js";
import { buildGatewaySchema } from "../../src/schema/build-schema.js";
import { createAuthenticator } from "../../src/server/auth.js";
import { OneChargingCommandRule } from "../../src/server/one-command-rule.js";
import { PRODUCTION_ENV, problemsOf } from "../support/config.js";

/** Production without a secret: each test sets AUTH_JWT_SECRET. */
const PRODUCTION = { ...PRODUCTION_ENV, AUTH_JWT_SECRET: undefined };

describe("the JWT secret in production", () => {
  it("refuses the built-in development secret, naming AUTH_JWT_SECRET", () => {
    const problems = problemsOf({ ...PRODUCTION, AUTH_JWT_SECRET: DEV_JWT_SECRET });
    expect(problems).toEqual([expect.stringMatching(/^AUTH_JWT_SECRET: the built-in development secret is not allowed/)]);
  });

  it("counts bytes, not characters: 31 bytes are refused, 32 accepted", () => {
    expect(problemsOf({ ...PRODUCTION, AUTH_JWT_SECRET: "x".repeat(31) })).toEqual([expect.stringMatching(/^AUTH_JWT_SECRET: .*32 bytes/)]);
    // 11 characters, 31 bytes ("€" is 3 bytes in UTF-8).
    expect(problemsOf({ ...PRODUCTION, AUTH_JWT_SECRET: `${"€".repeat(10)}x` })).toEqual([
      expect.stringMatching(/^AUTH_JWT_SECRET: .*32 bytes/),
    ]);
    expect(loadConfig({ ...PRODUCTION, AUTH_JWT_SECRET: "x".repeat(32) }).auth).toMatchObject({ mode: "secret", isDevDefault: false });
    // 16 characters, 32 bytes: enough.
    expect(loadConfig({ ...PRODUCTION, AUTH_JWT_SECRET: "é".repeat(16) }).auth).toMatchObject({ secret: "é".repeat(16) });
  });

  it("still starts development on the built-in secret", () => {
    expect(loadConfig({}).auth).toMatchObject({ secret: DEV_JWT_SECRET, isDevDefault: true });
    expect(loadConfig({ AUTH_JWT_SECRET: DEV_JWT_SECRET }).auth).toMatchObject({ isDevDefault: true });
  });
});

describe("development tokens", () => {
  it("are signed only with the built-in secret next to the built-in simulator", () => {
    expect(devTokenSigning(loadConfig({}))).toEqual({ secret: DEV_JWT_SECRET, issuer: undefined, audience: undefined });
    expect(devTokenSigning(loadConfig({ AUTH_JWT_SECRET: "a-configured-secret-a-configured-secret" }))).toBeNull();
    expect(
      devTokenSigning(
        loadConfig({ HUBJECT_BASE_URL: "http://127.0.0.1:9/api/oicp", HUBJECT_PROVIDER_ID: "DE-GQL", OICP_ALLOW_PLAIN_HTTP: "true" }),
      ),
    ).toBeNull();
    expect(
      devTokenSigning(
        loadConfig({ AUTH_JWKS_URL: "https://id.example/.well-known/jwks.json", AUTH_ISSUER: "https://id.example/", AUTH_AUDIENCE: "emp" }),
      ),
    ).toBeNull();
  });
});

describe("token claims", () => {
  const secret = "unit-test-secret-unit-test-secret-012345";
  const auth = createAuthenticator({ mode: "secret", secret, issuer: undefined, audience: undefined, isDevDefault: false });
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(secret));
  const refusal = (claim: RegExp) => ({
    extensions: { code: "UNAUTHENTICATED" },
    message: expect.stringMatching(new RegExp(`^The access token's claims are not valid: ${claim.source}`)),
  });

  it("accepts a string sub with a list of EvcoIDs, or without any", async () => {
    expect(await auth.authenticate(await sign({ sub: "alice", evco_ids: ["DE-GQL-C00000001-7", "DEGQLC000000017"] }))).toMatchObject({
      id: "alice",
      evcoIds: ["DE-GQL-C00000001-7", "DEGQLC000000017"],
    });
    expect(await auth.authenticate(await sign({ sub: "bob" }))).toMatchObject({ id: "bob", evcoIds: [] });
    expect(await auth.authenticate(await sign({ sub: "carol", evco_ids: [] }))).toMatchObject({ id: "carol", evcoIds: [] });
  });

  it("refuses a sub that is not a non-empty string", async () => {
    for (const sub of [["alice"], { id: "alice" }, 42, "", "  "]) {
      await expect(auth.authenticate(await sign({ sub, evco_ids: ["DE-GQL-C00000001-7"] })), JSON.stringify(sub)).rejects.toMatchObject(
        refusal(/sub must be a non-empty string/),
      );
    }
  });

  it("refuses evco_ids that are not a list of valid EvcoIDs, naming the claim but not the value", async () => {
    for (const evco_ids of ["DE-GQL-C00000001-7", null, { 0: "DE-GQL-C00000001-7" }]) {
      await expect(auth.authenticate(await sign({ sub: "alice", evco_ids })), JSON.stringify(evco_ids)).rejects.toMatchObject(
        refusal(/evco_ids must be a list of EvcoIDs/),
      );
    }
    const bad = auth.authenticate(await sign({ sub: "alice", evco_ids: ["DE-GQL-C00000001-7", "NOT-AN-EVCO"] }));
    await expect(bad).rejects.toMatchObject(refusal(/evco_ids\[1\] is not a valid EvcoID/));
    await expect(bad).rejects.not.toMatchObject({ message: expect.stringContaining("NOT-AN-EVCO") });
    await expect(auth.authenticate(await sign({ sub: "alice", evco_ids: [7] }))).rejects.toMatchObject(
      refusal(/evco_ids\[0\] is not a valid EvcoID/),
    );
  });
});

const schema = await buildGatewaySchema();

describe("one charging command per document", () => {
  const errorsOf = (query: string) => validate(schema, parse(query), [...specifiedRules, OneChargingCommandRule]).map((e) => e.message);
  const START = `startCharging(input: { evseId: "DE*SIM*E0001*1" }) { session { id } }`;
  const STOP = `stopCharging(input: { sessionId: "s1" }) { session { id } }`;
  const REFUSED = /^At most one startCharging or stopCharging per request; this one has (\d+)\./;

  it("accepts one command, alone or next to other fields and operations", () => {
    expect(errorsOf(`mutation { ${START} }`)).toEqual([]);
    expect(errorsOf(`mutation { ${STOP} }`)).toEqual([]);
    expect(errorsOf(`mutation Start { ${START} __typename } query Mine { chargingSessions { nodes { id } } }`)).toEqual([]);
    expect(errorsOf(`mutation { ...Start } fragment Start on Mutation { ${START} }`)).toEqual([]);
  });

  it("refuses two or more, aliased, in fragments or inline fragments, and across operations", () => {
    for (const [query, count] of [
      [`mutation { a: ${START} b: ${START} }`, "2"],
      [`mutation { ${START} ${STOP} }`, "2"],
      [`mutation { ${START} ...Stop } fragment Stop on Mutation { ${STOP} }`, "2"],
      [`mutation { ${START} ... on Mutation { again: ${START} } }`, "2"],
      [`mutation { ... { a: ${START} } ... @include(if: true) { b: ${STOP} c: ${STOP} } }`, "3"],
      [`mutation A { ${START} } mutation B { ${STOP} }`, "2"],
      [`mutation { ${Array.from({ length: 15 }, (_, i) => `s${i}: ${START}`).join(" ")} }`, "15"],
    ] as const) {
      const errors = errorsOf(query);
      expect(errors, query).toHaveLength(1);
      expect(REFUSED.exec(errors[0]!)?.[1], query).toBe(count);
    }
  });
});
