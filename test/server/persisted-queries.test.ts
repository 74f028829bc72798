// Persisted-query allow-list (GRAPHQL_PERSISTED_QUERIES=allow-list): listed operations run, by
// hash (Apollo APQ style) or by their exact text, on HTTP and graphql-ws; anything else is refused
// with PERSISTED_QUERY_NOT_ALLOWED before it is parsed, and reaches nothing upstream.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config.js";
import { checkPersistedQueryManifest, loadPersistedQueryManifest, sha256Hex } from "../../src/server/persisted-queries.js";
import { driver, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";
import { wsOperation, wsRequest } from "./support.js";

const EVSE = `query Evse($id: String!) { evse(id: $id) { id status } }`;
const START = `mutation Start($evseId: String!) { startCharging(input: { evseId: $evseId }) { session { id status } error { code } } }`;
const UPDATES = `subscription Updates { sessionUpdated { id status evseId } }`;
const UNLISTED = `{ evse(id: "DE*SIM*E0001*1") { id status } }`;
const MANIFEST = Object.fromEntries([EVSE, START, UPDATES].map((q) => [sha256Hex(q), q]));
const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256Hex(query) } });
const EVSE_VARS = { id: "DE*SIM*E0001*1" };

let dir: string;
let gw: TestGateway;
let alice: TestDriver;
const statusCalls = () => gw.gateway.simulator!.callsTo("PullEvseStatusById").length;

async function post(body: unknown, token: string | null = alice.token) {
  const response = await fetch(gw.gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function get(params: Record<string, string>) {
  const response = await fetch(`${gw.gateway.graphqlUrl}?${new URLSearchParams(params)}`, {
    headers: { authorization: `Bearer ${alice.token}`, "apollo-require-preflight": "true" },
  });
  return { status: response.status, body: (await response.json()) as any };
}

function expectRefused(result: { status: number; body: any }) {
  expect(result.status).toBe(400);
  expect(result.body.data).toBeUndefined();
  expect(result.body.errors).toEqual([{ message: expect.any(String), extensions: { code: "PERSISTED_QUERY_NOT_ALLOWED" } }]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "emp-pq-"));
  const file = join(dir, "persisted-queries.json");
  writeFileSync(file, JSON.stringify(MANIFEST, null, 2));
  // Each operation that runs must reach Hubject, to show it ran: no shared status cache.
  gw = await startTestGateway({
    env: { GRAPHQL_PERSISTED_QUERIES: "allow-list", GRAPHQL_PERSISTED_QUERIES_FILE: file, EVSE_STATUS_CACHE_MS: "0" },
  });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("over HTTP", () => {
  it("runs a listed operation sent by hash only, by hash with its text, and by its text", async () => {
    const before = statusCalls();
    for (const body of [
      { extensions: apq(EVSE), variables: EVSE_VARS },
      { query: EVSE, extensions: apq(EVSE), variables: EVSE_VARS },
      { query: EVSE, variables: EVSE_VARS },
    ]) {
      const { status, body: answer } = await post(body);
      expect(status).toBe(200);
      expect(answer.errors).toBeUndefined();
      expect(answer.data.evse).toEqual({ id: "DE*SIM*E0001*1", status: expect.any(String) });
    }
    expect(statusCalls()).toBeGreaterThanOrEqual(before + 3);
  });

  it("runs a listed operation by hash over GET", async () => {
    const { status, body } = await get({ extensions: JSON.stringify(apq(EVSE)), variables: JSON.stringify(EVSE_VARS) });
    expect(status).toBe(200);
    expect(body.data.evse.id).toBe("DE*SIM*E0001*1");
  });

  it("refuses an unknown hash, an unlisted text, a near copy of a listed text, and a hash sent with other text; nothing upstream", async () => {
    const before = statusCalls();
    expectRefused(await post({ extensions: apq(UNLISTED) }));
    expectRefused(await post({ extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }));
    expectRefused(await post({ query: UNLISTED }));
    expectRefused(await post({ query: `${EVSE} `, variables: EVSE_VARS }));
    expectRefused(await post({ query: UNLISTED, extensions: apq(EVSE), variables: EVSE_VARS }));
    expectRefused(await post({ extensions: { persistedQuery: { version: 1 } } }));
    expectRefused(await get({ query: UNLISTED }));
    expectRefused(await get({ extensions: JSON.stringify(apq(UNLISTED)) }));
    expect(statusCalls()).toBe(before);
  });

  it("refuses before parsing: even a document that would not parse gets PERSISTED_QUERY_NOT_ALLOWED", async () => {
    expectRefused(await post({ query: "{ this is not graphql" }));
  });

  it("lets introspection through while introspection is enabled (development tools), but nothing mixed with it", async () => {
    const introspection = await post({ query: getIntrospectionQuery() }, null);
    expect(introspection.status).toBe(200);
    expect(introspection.body.data.__schema.queryType.name).toBe("Query");
    expectRefused(await post({ query: `{ __typename ${UNLISTED.slice(1)}` }));
  });
});

describe("over graphql-ws", () => {
  it("runs a listed query by hash (empty query text) and by its text", async () => {
    const before = statusCalls();
    for (const payload of [
      { query: "", extensions: apq(EVSE), variables: EVSE_VARS },
      { query: EVSE, variables: EVSE_VARS },
    ]) {
      const outcome = await wsRequest(gw.gateway.websocketUrl, alice.token, payload);
      expect(outcome.error).toBeUndefined();
      expect(outcome.next[0].data.evse.id).toBe("DE*SIM*E0001*1");
    }
    expect(statusCalls()).toBeGreaterThanOrEqual(before + 2);
  });

  it("refuses an unknown hash and an unlisted text with PERSISTED_QUERY_NOT_ALLOWED; nothing upstream", async () => {
    const before = statusCalls();
    for (const payload of [
      { query: "", extensions: apq(UNLISTED) },
      { query: UNLISTED },
      { query: `subscription { sessionUpdated { id } }` },
    ]) {
      const outcome = await wsRequest(gw.gateway.websocketUrl, alice.token, payload);
      expect(outcome.closed).toBeUndefined();
      expect(outcome.next).toEqual([]);
      expect(outcome.error).toEqual([{ message: expect.any(String), extensions: { code: "PERSISTED_QUERY_NOT_ALLOWED" } }]);
    }
    expect(statusCalls()).toBe(before);
  });

  it("runs a listed subscription by hash, fed by a listed mutation", async () => {
    const updates = await subscribed(gw.gateway, () =>
      wsOperation(gw.gateway.websocketUrl, alice.token, { query: "", extensions: apq(UPDATES) }),
    );
    const started = await post({ extensions: apq(START), variables: { evseId: "DE*SIM*E0001*2" } });
    expect(started.body.errors).toBeUndefined();
    const event = await updates.firstNext();
    expect(event.data.sessionUpdated).toMatchObject({ id: started.body.data.startCharging.session.id, evseId: "DE*SIM*E0001*2" });
    updates.close();
  });
});

describe("with introspection disabled", () => {
  it("refuses introspection like any unlisted operation, on both transports", async () => {
    const file = join(dir, "persisted-queries.json");
    const strict = await startTestGateway({
      env: {
        GRAPHQL_PERSISTED_QUERIES: "allow-list",
        GRAPHQL_PERSISTED_QUERIES_FILE: file,
        INTROSPECTION_ENABLED: "false",
        SANDBOX_ENABLED: "false",
      },
    });
    try {
      const response = await fetch(strict.gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: getIntrospectionQuery() }),
      });
      expectRefused({ status: response.status, body: await response.json() });
      const ws = await wsRequest(strict.gateway.websocketUrl, alice.token, { query: `{ __schema { queryType { name } } }` });
      expect(ws.error?.[0]?.extensions.code).toBe("PERSISTED_QUERY_NOT_ALLOWED");
    } finally {
      await strict.close();
    }
  });
});

describe("the manifest", () => {
  const write = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  const problemsOf = (run: () => unknown): string[] => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error("expected a ConfigError");
  };

  it("loads { sha256: text } and keys it by lowercase hash", () => {
    const upper = { [sha256Hex(EVSE).toUpperCase()]: EVSE };
    expect([...loadPersistedQueryManifest(write("ok.json", JSON.stringify(upper)))]).toEqual([[sha256Hex(EVSE), EVSE]]);
  });

  it("refuses unreadable, non-JSON, wrongly shaped, mis-hashed, unparsable and empty manifests, naming the setting", () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => loadPersistedQueryManifest(join(dir, "missing.json")), /cannot read/],
      [() => loadPersistedQueryManifest(write("bad.json", "{ nope")), /not valid JSON/],
      [() => checkPersistedQueryManifest([{ id: sha256Hex(EVSE), body: EVSE }]), /must be a JSON object/],
      [() => checkPersistedQueryManifest({ "not-a-hash": EVSE }), /not a SHA-256 hex digest/],
      [() => checkPersistedQueryManifest({ [sha256Hex(EVSE)]: START }), /not the SHA-256 of its text/],
      [() => checkPersistedQueryManifest({ [sha256Hex("{ oops")]: "{ oops" }), /does not parse/],
      [() => checkPersistedQueryManifest({ [sha256Hex(EVSE)]: 42 }), /must be the operation's text/],
      [() => checkPersistedQueryManifest({}), /lists no operations/],
    ];
    for (const [run, pattern] of cases) {
      const problems = problemsOf(run);
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toMatch(/^GRAPHQL_PERSISTED_QUERIES_FILE: /);
      expect(problems.join("\n")).toMatch(pattern);
    }
  });

  it("a bad manifest stops the gateway from starting", async () => {
    const file = write("tampered.json", JSON.stringify({ [sha256Hex(EVSE)]: `${EVSE} # changed` }));
    await expect(
      startTestGateway({ env: { GRAPHQL_PERSISTED_QUERIES: "allow-list", GRAPHQL_PERSISTED_QUERIES_FILE: file } }),
    ).rejects.toThrow(/GRAPHQL_PERSISTED_QUERIES_FILE: .*not the SHA-256 of its text/);
  });
});
