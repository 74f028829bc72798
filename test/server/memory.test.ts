// Bounded memory whatever anyone sends (issue 12, item 3). A red team sent distinct documents
// without a token, each answered 401, and every one left its parsed document and its compiled
// graphql-jit plan behind. Here a real gateway gets thousands of distinct documents, anonymous and
// from a driver, over HTTP and graphql-ws, each within the document limits; after a forced GC the
// heap must have grown by less than HEAP_GROWTH_BOUND, and each document cache must be within its
// own count and byte bounds. A memory bound, not a timing one: nothing here depends on speed.
// Measured before the fix: +478 MB after the anonymous documents, +984 MB after all of them; after
// it: +2 MB and +27 MB.
import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { DOCUMENT_CACHES, type DocumentCacheName, documentCacheSizes } from "../../src/server/document-caches.js";
import { driver, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";

// vitest starts this file's process without --expose-gc: switch it on here, for this file only.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const MB = 1024 * 1024;
/** Retained heap growth allowed after all the documents below (the caches' budgets, 60 MiB estimated, fill it). */
const HEAP_GROWTH_BOUND = 64 * MB;
/** Anonymous documents keep nothing: what is left is noise (lazily made structures, sockets). */
const ANONYMOUS_GROWTH_BOUND = 16 * MB;
const ANONYMOUS = 5_000;
const PERSISTED = 1_500;
const AUTHENTICATED = 5_000;
const WEBSOCKET = 1_000;

// A session list as an app asks for it (about 60 tokens, depth 4): well within every limit.
const FIELDS = "id status evseId consumedEnergyKwh requestedAt updatedAt lastStatusCode { code description } stale origin";
const sessions = (name: string) => `query ${name} { ${name}: chargingSessions(first: 1) { nodes { ${FIELDS} } pageInfo { hasNextPage } } }`;
const watch = (name: string) => `subscription ${name} { ${name}: sessionUpdated(sessionId: "${name}") { ${FIELDS} } }`;

let gw: TestGateway;
let alice: TestDriver;

beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => gw?.close());

function retainedHeap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** The live caches of the gateway under test (this file starts one gateway). */
function cacheSizes(): Record<DocumentCacheName, { entries: number; bytes: number }> {
  const sizes = documentCacheSizes();
  expect(new Set(sizes.map((s) => s.name)).size).toBe(sizes.length);
  return Object.fromEntries(sizes.map(({ name, entries, bytes }) => [name, { entries, bytes }])) as ReturnType<typeof cacheSizes>;
}

/** Sends `count` distinct documents, a few at a time; returns the HTTP statuses seen. */
async function sendDistinct(count: number, prefix: string, token: string | null): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { status } = await gw.graphql(sessions(`${prefix}${i}`), undefined, token);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return statuses;
}

/** Registers `count` distinct automatic persisted queries (APQ); returns the HTTP statuses seen. */
async function registerDistinct(count: number, prefix: string, token: string | null): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const query = sessions(`${prefix}${i}`);
    const sha256Hash = createHash("sha256").update(query).digest("hex");
    const response = await fetch(gw.gateway.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
    });
    await response.arrayBuffer();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  }
  return statuses;
}

/** Sends `count` distinct subscriptions on one signed-in socket; each ends at once (no such session). */
async function subscribeDistinct(count: number, prefix: string, token: string): Promise<number> {
  const client = createClient({
    url: gw.gateway.websocketUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  let refused = 0;
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve) => {
        client.subscribe(
          { query: watch(`${prefix}${i}`) },
          {
            next: (result) => {
              if (result.errors?.length) refused++;
            },
            error: () => {
              refused++;
              resolve();
            },
            complete: resolve,
          },
        );
      });
    }
  } finally {
    await client.dispose();
  }
  return refused;
}

describe("memory under distinct documents", () => {
  it("stays bounded: anonymous documents leave nothing behind, a driver's fill bounded caches", async () => {
    // Warm up with the same shapes, so that lazily loaded code and first-use structures are in the baseline.
    await sendDistinct(200, "WarmAnon", null);
    await sendDistinct(200, "WarmMine", alice.token);
    await subscribeDistinct(50, "WarmWatch", alice.token);
    const baseline = retainedHeap();
    const warm = cacheSizes();

    const anonymous = await sendDistinct(ANONYMOUS, "Anon", null);
    const anonymousRegistered = await registerDistinct(PERSISTED, "AnonApq", null);
    const afterAnonymous = retainedHeap();
    // Nothing of what came without a token was kept: no document, no plan, no persisted query.
    expect(cacheSizes()).toEqual(warm);
    const authenticated = await sendDistinct(AUTHENTICATED, "Mine", alice.token);
    const refused = await subscribeDistinct(WEBSOCKET, "Watch", alice.token);
    const registered = await registerDistinct(PERSISTED, "MineApq", alice.token);
    const after = retainedHeap();

    const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
    console.info(
      `heap: baseline ${mb(baseline)}, after ${ANONYMOUS} anonymous + ${PERSISTED} APQ ${mb(afterAnonymous)} (+${mb(afterAnonymous - baseline)}),` +
        ` after ${AUTHENTICATED} authenticated + ${WEBSOCKET} websocket + ${PERSISTED} APQ ${mb(after)} (+${mb(after - baseline)})`,
    );
    expect(Object.fromEntries(anonymous)).toEqual({ 401: ANONYMOUS });
    expect(Object.fromEntries(anonymousRegistered)).toEqual({ 401: PERSISTED });
    expect(Object.fromEntries(registered)).toEqual({ 200: PERSISTED });
    expect(Object.fromEntries(authenticated)).toEqual({ 200: AUTHENTICATED });
    expect(refused).toBe(WEBSOCKET);
    expect(afterAnonymous - baseline).toBeLessThan(ANONYMOUS_GROWTH_BOUND);
    expect(after - baseline).toBeLessThan(HEAP_GROWTH_BOUND);
    // A driver's documents were kept, up to each cache's bounds.
    const filled = cacheSizes();
    console.info(`caches: ${JSON.stringify(filled)}`);
    for (const name of ["httpDocuments", "compiledPlans", "websocketDocuments", "persistedQueries"] as const) {
      expect(filled[name].entries).toBeGreaterThan(warm[name].entries);
      expect(filled[name].entries).toBeLessThanOrEqual(DOCUMENT_CACHES[name].max);
      expect(filled[name].bytes).toBeLessThanOrEqual(DOCUMENT_CACHES[name].maxBytes);
    }
  }, 120_000);
});
