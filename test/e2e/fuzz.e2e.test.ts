// Fuzzing the running gateway (fast-check): random and mutated GraphQL documents, variables and
// bodies, raw websocket frames, and malformed OICP bodies. Every answer must be a clean error
// (never a 5xx, never INTERNAL_SERVER_ERROR), the gateway must keep serving, and the store must
// not change.
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { example } from "../support/examples.js";
import { driver, START, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";
import { within } from "../support/wait.js";

let gw: TestGateway;
let alice: TestDriver;
let mallory: TestDriver;

/** Row counts and versions of everything stored: "the store is unchanged". */
function storeFingerprint() {
  const db = new Database(gw.databaseFile, { readonly: true });
  try {
    return {
      sessions: db.prepare("select id, version, status from charging_sessions order by id").all(),
      inbound: db.prepare("select count(*) as n from inbound_messages").get() as { n: number },
      rejected: db.prepare("select count(*) as n from inbound_messages where state = 'rejected'").get() as { n: number },
      keys: db.prepare("select count(*) as n from idempotency_keys").get(),
    };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  gw = await startTestGateway({ pace: { startDelayMs: 600_000 } });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  // The fuzzing driver holds no contract: nothing it sends may start, stop or store anything.
  mallory = await driver("mallory", []);
  await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token);
});

afterAll(async () => gw?.close());

async function postRaw(body: string, contentType = "application/json", token: string | null = mallory.token) {
  const response = await fetch(gw.gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await response.text();
  return { status: response.status, text };
}

function expectCleanGraphQLAnswer({ status, text }: { status: number; text: string }) {
  expect(status).toBeLessThan(500);
  const body = JSON.parse(text) as { data?: unknown; errors?: Array<{ message: unknown; extensions?: { code?: string } }> };
  if (status !== 200 || !("data" in body) || body.data === null) {
    expect(Array.isArray(body.errors) && body.errors.length > 0).toBe(true);
  }
  for (const error of body.errors ?? []) {
    expect(typeof error.message).toBe("string");
    expect(error.extensions?.code).not.toBe("INTERNAL_SERVER_ERROR");
  }
}

const NAMES = [
  "query",
  "mutation",
  "subscription",
  "fragment",
  "on",
  "startCharging",
  "stopCharging",
  "chargingSession",
  "chargingSessions",
  "evse",
  "sessionUpdated",
  "input",
  "evseId",
  "evcoId",
  "sessionId",
  "idempotencyKey",
  "id",
  "status",
  "nodes",
  "edges",
  "node",
  "cursor",
  "pageInfo",
  "hasNextPage",
  "endCursor",
  "session",
  "error",
  "code",
  "message",
  "first",
  "after",
  "active",
  "__typename",
  "__schema",
  "__type",
  "types",
  "fields",
  "name",
  "ChargingSession",
  "Query",
  "consumedEnergyKwh",
  "chargeDetailRecord",
  "evse",
];
const PUNCTUATION = ["{", "}", "(", ")", "[", "]", ":", "...", "$v", "$id", "@include(if: true)", "@skip(if: $v)", "!", "=", ",", "|", "&"];
const LITERALS = ['"DE*SIM*E0001*1"', '"x"', "1", "-1", "1.5e308", "true", "null", "ACCEPTED", '"""block"""', "{a: 1}", "[1, 2]"];

/** Documents built from the schema's own vocabulary: they get far past the parser. */
const tokenDocument = fc
  .array(fc.constantFrom(...NAMES, ...PUNCTUATION, ...LITERALS), { minLength: 1, maxLength: 60 })
  .map((tokens) => tokens.join(" "));

/** A valid operation with random edits: deleted, duplicated or swapped characters. */
const VALID = [
  `{ chargingSessions(first: 5) { nodes { id status evse { status } } pageInfo { endCursor } } }`,
  `mutation { startCharging(input: { evseId: "DE*SIM*E0001*2" }) { session { id } error { code } } }`,
  `query Q($id: ID!) { chargingSession(id: $id) { id status chargeDetailRecord { consumedEnergyKwh } } }`,
  `{ evse(id: "DE*SIM*E0001*1") { id status } }`,
];
const mutatedDocument = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom("delete", "duplicate", "insert")), { maxLength: 6 }),
    fc.string({ maxLength: 4 }),
  )
  .map(([doc, edits, text]) =>
    edits.reduce((d, [at, kind]) => {
      const i = at % Math.max(1, d.length);
      if (kind === "delete") return d.slice(0, i) + d.slice(i + 1);
      if (kind === "duplicate") return d.slice(0, i) + d.slice(i, i + 8) + d.slice(i);
      return d.slice(0, i) + text + d.slice(i);
    }, doc),
  );

const document = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 80 }), tokenDocument, mutatedDocument);
const variables = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom("id", "v", "input", "after"), fc.jsonValue({ maxDepth: 2 })),
);

describe("fuzzing GraphQL", () => {
  it("answers random and mutated documents and variables with clean errors, and changes nothing", async () => {
    const before = storeFingerprint();
    await fc.assert(
      fc.asyncProperty(document, variables, async (query, vars) => {
        expectCleanGraphQLAnswer(await postRaw(JSON.stringify({ query, variables: vars })));
      }),
      { numRuns: 400 },
    );
    expect(storeFingerprint()).toEqual(before);
  });

  it("answers malformed bodies and content types with clean errors", async () => {
    const before = storeFingerprint();
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc
        .record({
          query: fc.jsonValue({ maxDepth: 2 }),
          variables: fc.jsonValue({ maxDepth: 2 }),
          operationName: fc.jsonValue({ maxDepth: 1 }),
        })
        .map((v) => JSON.stringify(v)),
    );
    const contentType = fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "text/plain",
      "application/graphql",
      "multipart/form-data",
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, async (text, type) => {
        const { status, text: answer } = await postRaw(text, type);
        expect(status).toBeLessThan(500);
        expect(answer.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
    expect(storeFingerprint()).toEqual(before);
  });

  it("survives random websocket frames and stays healthy", async () => {
    const url = gw.gateway.websocketUrl;
    const frames = fc.array(
      fc.oneof(
        fc.string({ maxLength: 100 }),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc
          .record({
            type: fc.constantFrom("subscribe", "next", "complete", "ping", "pong", "connection_init", "x"),
            id: fc.string({ maxLength: 5 }),
            payload: fc.jsonValue({ maxDepth: 2 }),
          })
          .map((v) => JSON.stringify(v)),
      ),
      { maxLength: 6 },
    );
    await fc.assert(
      fc.asyncProperty(frames, async (messages) => {
        const socket = new WebSocket(url, "graphql-transport-ws");
        const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
        await new Promise<void>((resolve, reject) => {
          socket.once("open", () => resolve());
          socket.once("error", reject);
        });
        socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${mallory.token}` } }));
        for (const message of messages) if (socket.readyState === WebSocket.OPEN) socket.send(message);
        // The gateway has read every frame once it answers a ping sent after them, or once it has
        // closed the socket (a frame it refused).
        const endOfFrames = randomUUID();
        const ponged = new Promise<void>((resolve) =>
          socket.on("message", (data) => {
            if (String(data).includes(endOfFrames)) resolve();
          }),
        );
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping", payload: { endOfFrames } }));
        await within(Promise.race([ponged, closed]), "the gateway to answer the ping after the frames, or to close the socket");
        socket.terminate();
      }),
      { numRuns: 60 },
    );
    const health = await fetch(gw.gateway.graphqlUrl.replace("/graphql", "/healthz"));
    expect(health.status).toBe(200);
    const ok = await gw.graphql(`{ chargingSessions { nodes { id } } }`, {}, alice.token);
    expect(ok.body.data.chargingSessions.nodes).toHaveLength(1);
  });
});

describe("fuzzing the OICP listener", () => {
  const NOTIFICATIONS = "/api/oicp/notificationmgmt/v11/charging-notifications";
  const CDR = "/api/oicp/cdrmgmt/v22/operators/DE*SIM/charge-detail-record";
  const examples = {
    [NOTIFICATIONS]: [
      "05-notification-start.request",
      "06-notification-progress.request",
      "07-notification-end.request",
      "08-notification-error.request",
    ].map(example),
    [CDR]: [example("14-charge-detail-record.request")],
  };
  /** Fields without which (or with a wrong value in which) a message cannot be used: what Hubject itself requires. */
  const REQUIRED: Record<string, string[]> = {
    Start: ["Type", "SessionID", "EvseID"],
    Progress: ["Type", "SessionID", "EvseID", "EventOccurred"],
    End: ["Type", "SessionID", "EvseID", "ChargingEnd"],
    Error: ["Type", "SessionID", "EvseID", "ErrorType"],
    CDR: ["SessionID", "EvseID", "SessionStart", "SessionEnd"],
  };
  const wrongValue = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.string(), { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
    fc
      .string({ maxLength: 40 })
      .filter(
        (s) =>
          !/^\d{4}-\d{2}-\d{2}T/.test(s) &&
          !/^-?\d+(\.\d+)?$/.test(s.trim()) &&
          !/^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$/.test(s),
      ),
  );

  const broken = fc.constantFrom(NOTIFICATIONS, CDR).chain((path) =>
    fc.record({
      path: fc.constant(path),
      body: fc.oneof(
        // Not JSON at all, or JSON of the wrong shape.
        fc.string({ maxLength: 200 }).map((s) => ({ raw: `${s}{` })),
        fc
          .jsonValue({ maxDepth: 3 })
          .filter((v) => typeof v !== "object" || v === null || Array.isArray(v))
          .map((v) => ({ json: v })),
        // A realistic message with one required field broken, plus random extra fields.
        fc
          .tuple(
            fc.constantFrom(...examples[path]!),
            fc.nat(),
            wrongValue,
            fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
          )
          .map(([base, pick, value, extra]) => {
            const kind = path === CDR ? "CDR" : String(base.Type);
            const fields = REQUIRED[kind]!;
            const field = fields[pick % fields.length]!;
            const message: Record<string, unknown> = { ...extra, ...base };
            if (value === undefined) delete message[field];
            else message[field] = value;
            return { json: message };
          }),
      ),
    }),
  );

  it("answers every malformed message with 022, keeps each JSON body as rejected, changes no session, and keeps serving", async () => {
    const before = storeFingerprint();
    let storable = 0;
    await fc.assert(
      fc.asyncProperty(broken, async ({ path, body }) => {
        if ("json" in body) storable++;
        const response = await fetch(`${gw.gateway.oicpUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "raw" in body ? body.raw : JSON.stringify(body.json),
        });
        expect(response.status).toBe(200);
        const ack = (await response.json()) as { Result: boolean; StatusCode: { Code: string } };
        expect(ack).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
      }),
      { numRuns: 400 },
    );
    // Every JSON body is on record (for the operator, npm run -s inbound), and all of them as rejected.
    const after = storeFingerprint();
    expect(after).toEqual({ ...before, inbound: { n: before.inbound.n + storable }, rejected: { n: before.rejected.n + storable } });
    const health = await fetch(`${gw.gateway.oicpUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
