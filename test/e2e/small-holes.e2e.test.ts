// Issue 12's small holes, over real sockets: development tokens only for this machine and only
// next to the built-in secret and simulator; token claims with the wrong shape are refused; a
// subscription over plain HTTP is a clean client error; one charging command per document.
// The pure pieces (config, claims, the validation rule): test/unit/small-holes.test.ts.

import http from "node:http";
import { jwtVerify, SignJWT } from "jose";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEV_JWT_SECRET } from "../../src/config/env.js";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { wsRequest } from "../server/support.js";
import {
  driver,
  SESSION_UPDATED,
  START,
  startTestGateway,
  TEST_JWT_SECRET,
  type TestDriver,
  type TestGateway,
} from "../support/gateway.js";

const ALICE_EVCO = "DE-GQL-C00000001-7";

/** POST /app/api/dev-token with the headers given (node:http: fetch would not send a foreign Host). */
function postDevToken(gw: TestGateway, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const url = new URL("/app/api/dev-token", gw.gateway.graphqlUrl);
  const payload = JSON.stringify({ driverId: "alice", evcoId: ALICE_EVCO });
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", headers: { "content-type": "application/json", ...headers } }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    request.on("error", reject);
    request.end(payload);
  });
}

const pageConfigOf = async (gw: TestGateway) => {
  const html = await (await fetch(new URL("/app", gw.gateway.graphqlUrl))).text();
  return JSON.parse(/<script type="application\/json" id="page-config">([\s\S]*?)<\/script>/.exec(html)![1]!);
};

describe("the development-token endpoint", () => {
  describe("with the built-in secret and the built-in simulator", () => {
    let gw: TestGateway;
    let port: string;
    beforeAll(async () => {
      // AUTH_JWT_SECRET unset: the built-in development secret.
      gw = await startTestGateway({ env: { AUTH_JWT_SECRET: "" } });
      port = new URL(gw.gateway.graphqlUrl).port;
    });
    afterAll(async () => gw?.close());

    it("signs a token for localhost callers, with the built-in secret, and the gateway accepts it", async () => {
      expect((await pageConfigOf(gw)).devTokens).toBe(true);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, "localhost"]) {
        const answer = await postDevToken(gw, { host });
        expect(answer.status, host).toBe(200);
        const { payload } = await jwtVerify(answer.body.token, new TextEncoder().encode(DEV_JWT_SECRET), { algorithms: ["HS256"] });
        expect(payload).toMatchObject({ sub: "alice", evco_ids: [ALICE_EVCO] });
      }
      const sameOrigin = await postDevToken(gw, { host: `localhost:${port}`, origin: `http://localhost:${port}` });
      expect(sameOrigin.status).toBe(200);
      const { status, body } = await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, sameOrigin.body.token);
      expect(status).toBe(200);
      expect(body.data.chargingSessions.nodes).toEqual([]);
    });

    it("answers 403 to a foreign Host (DNS rebinding), whatever the Origin", async () => {
      for (const host of [`rebind.example:${port}`, "rebind.example", `127.0.0.1.rebind.example:${port}`, `localhost.:${port}`]) {
        const answer = await postDevToken(gw, { host });
        expect(answer.status, host).toBe(403);
        expect(answer.body).toEqual({ error: expect.any(String) });
        expect(answer.body.token).toBeUndefined();
      }
      const both = await postDevToken(gw, { host: `rebind.example:${port}`, origin: `http://rebind.example:${port}` });
      expect(both.status).toBe(403);
    });

    it("answers 403 to a foreign Origin", async () => {
      for (const origin of ["https://evil.example", `http://rebind.example:${port}`, "null", `http://localhost:${port}.evil.example`]) {
        const answer = await postDevToken(gw, { host: `localhost:${port}`, origin });
        expect(answer.status, origin).toBe(403);
        expect(answer.body).toEqual({ error: expect.any(String) });
      }
    });
  });

  it("is absent with a configured AUTH_JWT_SECRET: the page asks for a token instead", async () => {
    const gw = await startTestGateway(); // AUTH_JWT_SECRET=TEST_JWT_SECRET
    try {
      const answer = await postDevToken(gw);
      expect(answer.status).toBe(404);
      expect(answer.body.token).toBeUndefined();
      expect(await pageConfigOf(gw)).toMatchObject({ devTokens: false, catalogue: true });
    } finally {
      await gw.close();
    }
  });

  it("is absent with HUBJECT_BASE_URL set, even on the built-in secret", async () => {
    let hubject: HubjectSimulator | undefined;
    let gw: TestGateway | undefined;
    try {
      hubject = await startSimulator({ providerId: "DE-GQL", port: 0 });
      gw = await startTestGateway({ env: { AUTH_JWT_SECRET: "", HUBJECT_BASE_URL: hubject.url } });
      const answer = await postDevToken(gw);
      expect(answer.status).toBe(404);
      expect(answer.body.token).toBeUndefined();
      expect(await pageConfigOf(gw)).toMatchObject({ devTokens: false, catalogue: false });
    } finally {
      await gw?.close();
      await hubject?.close();
    }
  });
});

describe("token claims", () => {
  let gw: TestGateway;
  let alice: TestDriver;
  beforeAll(async () => {
    gw = await startTestGateway({ pace: { startDelayMs: 60_000 } });
    alice = await driver("alice", [ALICE_EVCO]);
    const started = await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token);
    expect(started.body.data.startCharging.session.id).toEqual(expect.any(String));
  });
  afterAll(async () => gw?.close());

  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));

  const cases = [
    {
      name: 'sub ["alice"]',
      claims: { sub: ["alice"], evco_ids: [ALICE_EVCO] },
      message: /claims are not valid: sub must be a non-empty string/,
    },
    {
      name: "evco_ids as a string",
      claims: { sub: "alice", evco_ids: ALICE_EVCO },
      message: /claims are not valid: evco_ids must be a list of EvcoIDs/,
    },
    {
      name: "an invalid EvcoID",
      claims: { sub: "alice", evco_ids: [ALICE_EVCO, "DE-GQL-NOPE"] },
      message: /claims are not valid: evco_ids\[1\] is not a valid EvcoID/,
    },
  ];

  it("alice's own token lists her session", async () => {
    const { body } = await gw.graphql(`{ chargingSessions { nodes { id evcoId } } }`, {}, alice.token);
    expect(body.data.chargingSessions.nodes).toHaveLength(1);
  });

  for (const { name, claims, message } of cases) {
    it(`a token with ${name} gets 401 with a clear message over HTTP, and 4401 on a socket`, async () => {
      const token = await sign(claims);
      const { status, body } = await gw.graphql(`{ chargingSessions { nodes { id evcoId } } }`, {}, token);
      expect(status).toBe(401);
      expect(body.data ?? null).toBeNull();
      expect(body.errors).toEqual([{ message: expect.stringMatching(message), extensions: { code: "UNAUTHENTICATED" } }]);
      expect(JSON.stringify(body)).not.toContain(ALICE_EVCO);

      const socket = gw.subscribe(token, SESSION_UPDATED);
      expect((await socket.closed)?.code).toBe(4401);
      expect(socket.events).toEqual([]);
    });
  }
});

describe("a subscription over plain HTTP", () => {
  for (const execution of ["jit", "graphql-js"] as const) {
    it(`is a clean 400 pointing to graphql-ws, with or without a token, and logs no error (${execution})`, async () => {
      const lines: Array<{ level: number; msg: string }> = [];
      const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
      const consoleError = vi.spyOn(console, "error");
      const gw = await startTestGateway({ env: { GRAPHQL_EXECUTION: execution }, overrides: { logger } });
      try {
        const alice = await driver("alice", [ALICE_EVCO]);
        const requests: Array<{ token: string | null; extensions?: Record<string, unknown> }> = [
          { token: null },
          { token: alice.token },
          // Apollo's callback protocol while SUBSCRIPTION_CALLBACK_URLS is unset: nothing takes it over.
          ...(execution === "jit" ? [{ token: alice.token, extensions: { subscription: { callbackUrl: "http://127.0.0.1:9/cb" } } }] : []),
        ];
        for (const { token, extensions } of requests) {
          const response = await fetch(gw.gateway.graphqlUrl, {
            method: "POST",
            headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify({ query: "subscription { sessionUpdated { id } }", ...(extensions ? { extensions } : {}) }),
          });
          const body = (await response.json()) as any;
          expect(response.status).toBe(400);
          expect(body.data ?? null).toBeNull();
          expect(body.errors).toEqual([{ message: expect.stringMatching(/graphql-ws/), extensions: { code: "BAD_REQUEST" } }]);
          expect(body.errors[0].message).toMatch(/same path/);
        }
        // The answers above were written after everything the request logs.
        expect(lines.filter((line) => line.level >= 50)).toEqual([]);
        expect(consoleError).not.toHaveBeenCalled();
      } finally {
        consoleError.mockRestore();
        await gw.close();
      }
    });
  }
});

describe("one charging command per document", () => {
  let gw: TestGateway;
  let alice: TestDriver;
  beforeAll(async () => {
    gw = await startTestGateway();
    alice = await driver("alice", [ALICE_EVCO]);
  });
  afterAll(async () => gw?.close());

  const remoteStarts = () => gw.gateway.simulator!.callsTo("AuthorizeRemoteStart").length;
  const start = (alias: string, evse: string) => `${alias}: startCharging(input: { evseId: "${evse}" }) { session { id } error { code } }`;
  const REFUSED = /At most one startCharging or stopCharging per request/;

  it("refuses two aliased startCharging over HTTP before anything runs", async () => {
    const before = remoteStarts();
    const { status, body } = await gw.graphql(
      `mutation { ${start("a", "DE*SIM*E0001*1")} ${start("b", "DE*SIM*E0001*2")} }`,
      {},
      alice.token,
    );
    expect(status).toBe(400);
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatchObject({ message: expect.stringMatching(REFUSED), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
    expect(remoteStarts()).toBe(before);
    expect((await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, alice.token)).body.data.chargingSessions.nodes).toEqual([]);
  });

  it("refuses fifteen aliased starts, and commands hidden in fragments, over HTTP", async () => {
    const before = remoteStarts();
    const fifteen = Array.from({ length: 15 }, (_, i) => start(`s${i}`, `DE*SIM*E0001*${(i % 4) + 1}`)).join(" ");
    const fragments = `mutation { ...Start ... on Mutation { ${start("again", "DE*SIM*E0001*2")} } } fragment Start on Mutation { ${start("first", "DE*SIM*E0001*1")} }`;
    for (const query of [`mutation { ${fifteen} }`, fragments]) {
      const { status, body } = await gw.graphql(query, {}, alice.token);
      expect(status, query).toBe(400);
      expect(body.data ?? null).toBeNull();
      expect(body.errors.map((e: any) => e.extensions.code)).toContain("GRAPHQL_VALIDATION_FAILED");
      expect(body.errors.some((e: any) => REFUSED.test(e.message))).toBe(true);
    }
    expect(remoteStarts()).toBe(before);
  });

  it("refuses two aliased startCharging over graphql-ws", async () => {
    const before = remoteStarts();
    const outcome = await wsRequest(gw.gateway.websocketUrl, alice.token, {
      query: `mutation { ${start("a", "DE*SIM*E0001*1")} ${start("b", "DE*SIM*E0001*2")} }`,
    });
    expect(outcome.next).toEqual([]);
    expect(outcome.error).toEqual([
      expect.objectContaining({ message: expect.stringMatching(REFUSED), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
    ]);
    expect(remoteStarts()).toBe(before);
  });

  it("runs a single startCharging, also in a document with a query", async () => {
    const before = remoteStarts();
    const alone = await gw.graphql(`mutation { ${start("started", "DE*SIM*E0001*1")} }`, {}, alice.token);
    expect(alone.status).toBe(200);
    expect(alone.body.errors).toBeUndefined();
    expect(alone.body.data.started.error).toBeNull();
    expect(remoteStarts()).toBe(before + 1);

    const response = await fetch(gw.gateway.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({
        query: `mutation Start { ${start("started", "DE*SIM*E0001*2")} } query Mine { chargingSessions { nodes { id } } }`,
        operationName: "Start",
      }),
    });
    const body = (await response.json()) as any;
    expect(response.status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.started.session.id).toEqual(expect.any(String));
    expect(remoteStarts()).toBe(before + 2);
  });
});
