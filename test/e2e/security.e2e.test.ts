// Lets no one in where they don't belong: every operation as an unauthenticated caller, as another
// driver and with an expired token; JWKS verification (pinned algorithms, issuer, audience, key
// rotation); rate limits; and a privacy check of everything the gateway logs.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deliveredBeforeMarker,
  driver,
  SESSION_UPDATED,
  START,
  STOP,
  startTestGateway,
  subscribed,
  type TestDriver,
  type TestGateway,
  tokenFor,
} from "../support/gateway.js";

const ALICE_EVCO = "DE-GQL-C00000001-7";
const BOB_EVCO = "DE-GQL-C00000002-5";

describe("every operation checks the caller", () => {
  let gw: TestGateway;
  let alice: TestDriver;
  let bob: TestDriver;
  let expired: string;
  let aliceSession: string;

  beforeAll(async () => {
    // A quiet charger: alice's session changes only when a test changes it.
    gw = await startTestGateway({ pace: { startDelayMs: 60_000 } });
    alice = await driver("alice", [ALICE_EVCO]);
    bob = await driver("bob", [BOB_EVCO]);
    expired = await tokenFor("alice", [ALICE_EVCO], { expiresIn: Math.floor(Date.now() / 1000) - 5 });
    const started = await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token);
    aliceSession = started.body.data.startCharging.session.id;
  });
  afterAll(async () => gw?.close());

  const upstreamCalls = () =>
    ["AuthorizeRemoteStart", "AuthorizeRemoteStop", "PullEvseStatusById"].map((op) => gw.gateway.simulator!.callsTo(op as never).length);

  const operations: Array<{ name: string; query: string; variables: () => Record<string, unknown>; otherDriver: string | null }> = [
    {
      name: "startCharging",
      query: START,
      variables: () => ({ input: { evseId: "DE*SIM*E0001*2", evcoId: ALICE_EVCO } }),
      otherDriver: "FORBIDDEN",
    },
    { name: "stopCharging", query: STOP, variables: () => ({ input: { sessionId: aliceSession } }), otherDriver: "FORBIDDEN" },
    {
      name: "chargingSession",
      query: `query($id: ID!) { chargingSession(id: $id) { id evcoId evse { status } chargeDetailRecord { consumedEnergyKwh } } }`,
      variables: () => ({ id: aliceSession }),
      otherDriver: "FORBIDDEN",
    },
    { name: "chargingSessions", query: `{ chargingSessions { nodes { id evcoId } } }`, variables: () => ({}), otherDriver: null },
    { name: "evse", query: `{ evse(id: "DE*SIM*E0001*1") { id status } }`, variables: () => ({}), otherDriver: null },
  ];

  for (const op of operations) {
    it(`${op.name}: unauthenticated, expired token and another driver get nothing of alice's`, async () => {
      const before = upstreamCalls();
      const stored = await gw.gateway.store.get(aliceSession);

      const anonymous = await gw.graphql(op.query, op.variables(), null);
      expect(anonymous.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
      expect(anonymous.body.data?.[op.name] ?? null).toBeNull();

      const stale = await gw.graphql(op.query, op.variables(), expired);
      expect(stale.status).toBe(401);
      expect(stale.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");

      const other = await gw.graphql(op.query, op.variables(), bob.token);
      if (op.otherDriver) {
        expect(other.body.errors[0].extensions.code).toBe(op.otherDriver);
        expect(other.body.errors[0].message).not.toContain("alice");
      }
      // Nothing of alice's reaches bob, whatever the operation.
      expect(JSON.stringify(other.body)).not.toContain(ALICE_EVCO);
      expect(JSON.stringify(other.body)).not.toContain(aliceSession);

      // Refused callers cost nothing upstream (bob's EVSE read is his own, allowed read) and change nothing.
      const after = upstreamCalls();
      expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
      expect(await gw.gateway.store.get(aliceSession)).toEqual(stored);
    });
  }

  it("a socket whose token expires while it is open is closed with 4403", async () => {
    const shortLived = await tokenFor("alice", [ALICE_EVCO], { expiresIn: Math.floor(Date.now() / 1000) + 2 });
    const sub = await subscribed(gw.gateway, () => gw.subscribe(shortLived, SESSION_UPDATED));
    expect(sub.errors).toEqual([]);
    const closed = await sub.closed;
    expect(closed?.code).toBe(4403);
  });

  it("sessionUpdated: unauthenticated and expired sockets are closed with 4401; another driver is refused or sees nothing", async () => {
    for (const token of [null, expired]) {
      const sub = gw.subscribe(token, SESSION_UPDATED);
      expect((await sub.closed)?.code).toBe(4401);
    }
    const byId = gw.subscribe(bob.token, SESSION_UPDATED, { sessionId: aliceSession });
    await expect.poll(() => byId.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(byId.errors)).toContain("FORBIDDEN");
    const all = await subscribed(gw.gateway, () => gw.subscribe(bob.token, SESSION_UPDATED));
    await gw.graphql(STOP, { input: { sessionId: aliceSession } }, alice.token);
    // Everything the stop caused (the CPO's End, the CDR) has been handled once the simulator is
    // idle; a marker of bob's, published after it, then shows that none of it went to bob.
    await gw.gateway.simulator!.idle();
    expect(byId.events).toEqual([]); // refused: the operation ended with its error
    expect(await deliveredBeforeMarker(gw, all, BOB_EVCO)).toEqual([]);
  });
});

describe("tokens from an identity provider (JWKS)", () => {
  let jwks: Server;
  let keys: JWK[] = [];
  let gw: TestGateway;
  const ISSUER = "https://id.example.test/";
  const AUDIENCE = "emp-gateway";
  let current: { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"] };

  async function rotate(kid: string) {
    const pair = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
    keys = [jwk, ...keys].slice(0, 2);
    current = { kid, privateKey: pair.privateKey };
  }

  const sign = (claims: { iss?: string; aud?: string; alg?: string } = {}) =>
    new SignJWT({ evco_ids: [ALICE_EVCO] })
      .setProtectedHeader({ alg: claims.alg ?? "ES256", kid: current.kid })
      .setSubject("alice")
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(current.privateKey);

  beforeAll(async () => {
    await rotate("key-1");
    jwks = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    gw = await startTestGateway({
      env: { AUTH_JWT_SECRET: "", AUTH_JWKS_URL: url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE },
      overrides: { authenticator: { jwksCooldownMs: 0 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const me = async (token: string) => (await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, token)).body;

  it("accepts a token signed by the provider's current key", async () => {
    expect((await me(await sign())).data.chargingSessions.nodes).toEqual([]);
  });

  it("pins issuer and audience", async () => {
    expect((await me(await sign({ iss: "https://evil.example.test/" }))).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect((await me(await sign({ aud: "another-service" }))).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("pins algorithms: no HS256 with a shared secret, no unsigned tokens", async () => {
    const hs = await new SignJWT({ evco_ids: [ALICE_EVCO] })
      .setProtectedHeader({ alg: "HS256", kid: current.kid })
      .setSubject("alice")
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode("a-secret-the-attacker-chose-0123456789"));
    expect((await me(hs)).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
    const body = Buffer.from(
      JSON.stringify({ sub: "alice", iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 }),
    ).toString("base64url");
    expect((await me(`${header}.${body}.`)).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("follows a key rotation at the provider without a restart", async () => {
    await rotate("key-2");
    expect((await me(await sign())).data.chargingSessions.nodes).toEqual([]);
  });
});

describe("rate limits", () => {
  let gw: TestGateway;
  afterAll(async () => gw?.close());

  it("limits each driver's mutations, with Retry-After, without reaching Hubject", async () => {
    gw = await startTestGateway({ env: { RATE_LIMIT_MUTATIONS_PER_MINUTE: "3" } });
    const alice = await driver("alice", [ALICE_EVCO]);
    const bob = await driver("bob", [BOB_EVCO]);
    for (let i = 0; i < 3; i++) {
      const { body } = await gw.graphql(START, { input: { evseId: "DE*SIM*E9999*1" } }, alice.token);
      expect(body.data.startCharging.error.code).toBe("EVSE_UNKNOWN");
    }
    const calls = gw.gateway.simulator!.callsTo("AuthorizeRemoteStart").length;
    const limited = await gw.graphql(START, { input: { evseId: "DE*SIM*E9999*1" } }, alice.token);
    expect(limited.status).toBe(429);
    expect(limited.body.errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", retryAfterSeconds: expect.any(Number) });
    expect(gw.gateway.simulator!.callsTo("AuthorizeRemoteStart").length).toBe(calls);
    // Another driver has a budget of their own.
    const other = await gw.graphql(START, { input: { evseId: "DE*SIM*E9999*1" } }, bob.token);
    expect(other.body.data.startCharging.error.code).toBe("EVSE_UNKNOWN");
    await gw.close();
  });

  it("keeps the whole EMP under Hubject's remote-start limit", async () => {
    gw = await startTestGateway({ env: { RATE_LIMIT_REMOTE_STARTS_PER_MINUTE: "2" } });
    const drivers = await Promise.all(["d1", "d2", "d3"].map((id, i) => driver(id, [`DE-GQL-C0000001${i}-1`])));
    const results = [];
    for (const d of drivers) results.push(await gw.graphql(START, { input: { evseId: "DE*SIM*E9999*1" } }, d.token));
    expect(results.slice(0, 2).map((r) => r.body.data.startCharging.error.code)).toEqual(["EVSE_UNKNOWN", "EVSE_UNKNOWN"]);
    expect(results[2]!.body.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect(gw.gateway.simulator!.callsTo("AuthorizeRemoteStart")).toHaveLength(2);
  });
});

describe("privacy", () => {
  it("logs neither whole contract ids nor tokens, through a full session and its refusals", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
    const gw = await startTestGateway({ overrides: { logger } });
    try {
      const alice = await driver("alice", [ALICE_EVCO]);
      const bob = await driver("bob", [BOB_EVCO]);
      const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
      const { body } = await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token);
      const id = body.data.startCharging.session.id;
      await watch.waitFor((s) => s.id === id && s.status === "CHARGING");
      await gw.graphql(STOP, { input: { sessionId: id } }, bob.token); // refused
      await gw.graphql(START, { input: { evseId: "DE*SIM*E0602*1" } }, alice.token); // refused by the CPO
      await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, "Bearer.garbage.token");
      await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
      await watch.waitFor((s) => s.id === id && s.status === "COMPLETED");
      await gw.gateway.simulator!.idle();
      const all = lines.join("\n");
      expect(lines.length).toBeGreaterThan(10);
      for (const secret of [ALICE_EVCO, BOB_EVCO, alice.token, bob.token, alice.token.split(".")[2]!]) {
        expect(all).not.toContain(secret);
      }
    } finally {
      await gw.close();
    }
  });
});
