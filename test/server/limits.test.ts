// Document limits (depth, aliases, tokens, cost, directives) on both transports: a document at the
// limit runs, one past it is refused before any resolver runs, so nothing reaches Hubject.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGatewaySchemaSync } from "../../src/schema/build-schema.js";
import { driver, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";
import { armorCost, tokenCount, wsOperation, wsRequest } from "./support.js";

const LIMITS = { depth: 3, aliases: 2, tokens: 60, cost: 100, directives: 2 };

let gw: TestGateway;
let alice: TestDriver;
const statusCalls = () => gw.gateway.simulator!.callsTo("PullEvseStatusById").length;

const EVSE = `evse(id: "DE*SIM*E0001*1") { status }`;
const padded = (count: number) => `{ evse(id: "DE*SIM*E0001*1") { status${" __typename".repeat(count)} } }`;
const costly = (first: number) => `{ ${EVSE} chargingSessions(first: ${first}) { pageInfo { hasNextPage } } }`;

interface Case {
  limit: keyof typeof LIMITS;
  under: string;
  over: string;
  /** The refusal's code and what its message says. */
  code: string;
  message: RegExp;
}

const CASES: Case[] = [
  {
    limit: "depth",
    under: `{ ${EVSE} chargingSessions { nodes { id } } }`,
    over: `{ ${EVSE} chargingSessions { nodes { evse { status } } } }`,
    code: "GRAPHQL_VALIDATION_FAILED",
    message: /depth limit of 3 exceeded, found 4/,
  },
  {
    limit: "aliases",
    under: `{ a: ${EVSE} b: ${EVSE} }`,
    over: `{ a: ${EVSE} b: ${EVSE} c: ${EVSE} }`,
    code: "GRAPHQL_VALIDATION_FAILED",
    message: /Aliases limit of 2 exceeded, found 3/,
  },
  {
    limit: "tokens",
    under: padded(49),
    over: padded(50),
    code: "GRAPHQL_PARSE_FAILED",
    message: /Document contains more th.. 60 tokens/, // graphql-js says "more that"
  },
  {
    limit: "cost",
    under: costly(13),
    over: costly(14),
    code: "GRAPHQL_VALIDATION_FAILED",
    message: /Cost limit of 100 exceeded/,
  },
  {
    limit: "directives",
    under: `{ evse(id: "DE*SIM*E0001*1") @include(if: true) { status @skip(if: false) } }`,
    over: `{ evse(id: "DE*SIM*E0001*1") @include(if: true) { status @skip(if: false) __typename @include(if: true) } }`,
    code: "GRAPHQL_VALIDATION_FAILED",
    message: /Directives limit of 2 exceeded, found 3/,
  },
];

beforeAll(async () => {
  gw = await startTestGateway({
    env: {
      GRAPHQL_MAX_DEPTH: String(LIMITS.depth),
      GRAPHQL_MAX_ALIASES: String(LIMITS.aliases),
      GRAPHQL_MAX_TOKENS: String(LIMITS.tokens),
      GRAPHQL_MAX_COST: String(LIMITS.cost),
      GRAPHQL_MAX_DIRECTIVES: String(LIMITS.directives),
      // Each accepted query must reach Hubject, to show it ran: no shared status cache.
      EVSE_STATUS_CACHE_MS: "0",
    },
  });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => gw?.close());

describe("the test documents", () => {
  it("sit just at and just past each limit, and within all the others", () => {
    const schema = buildGatewaySchemaSync();
    const cost = (q: string) => armorCost(schema, q);
    for (const c of CASES) {
      expect(tokenCount(c.under)).toBeLessThanOrEqual(LIMITS.tokens);
      expect(cost(c.under)).toBeLessThanOrEqual(LIMITS.cost);
      if (c.limit !== "tokens") expect(tokenCount(c.over)).toBeLessThanOrEqual(LIMITS.tokens);
      if (c.limit !== "cost") expect(cost(c.over)).toBeLessThanOrEqual(LIMITS.cost);
    }
    expect(tokenCount(padded(49))).toBe(LIMITS.tokens);
    expect(tokenCount(padded(50))).toBe(LIMITS.tokens + 1);
    expect(cost(costly(13))).toBeLessThanOrEqual(LIMITS.cost);
    expect(cost(costly(14))).toBeGreaterThan(LIMITS.cost);
    expect(cost(costly(14)) - LIMITS.cost).toBeLessThan(10);
  });
});

describe.each(CASES)("$limit limit", ({ under, over, code, message }) => {
  it("over HTTP: at the limit it runs; past it: 400, a clean error, nothing upstream", async () => {
    const before = statusCalls();
    const ok = await gw.graphql(under, {}, alice.token);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    expect(statusCalls()).toBeGreaterThan(before);

    const calls = statusCalls();
    const refused = await gw.graphql(over, {}, alice.token);
    expect(refused.status).toBe(400);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors[0].extensions.code).toBe(code);
    expect(refused.body.errors[0].message).toMatch(message);
    expect(statusCalls()).toBe(calls);
  });

  it("over graphql-ws: at the limit it runs; past it: an error message, nothing upstream, the socket stays usable", async () => {
    const before = statusCalls();
    const ok = await wsRequest(gw.gateway.websocketUrl, alice.token, { query: under });
    expect(ok.error).toBeUndefined();
    expect(ok.next[0].errors).toBeUndefined();
    expect(ok.next[0].data.evse ?? ok.next[0].data.a).toMatchObject({ status: expect.any(String) });
    expect(ok.completed).toBe(true);
    expect(statusCalls()).toBeGreaterThan(before);

    const calls = statusCalls();
    const refused = await wsRequest(gw.gateway.websocketUrl, alice.token, { query: over });
    expect(refused.closed).toBeUndefined();
    expect(refused.next).toEqual([]);
    expect(refused.error).toHaveLength(1);
    expect(refused.error![0].extensions.code).toBe(code);
    expect(refused.error![0].message).toMatch(message);
    expect(statusCalls()).toBe(calls);
  });
});

describe("subscriptions", () => {
  it("are refused past a limit and accepted within it", async () => {
    const refused = await wsRequest(gw.gateway.websocketUrl, alice.token, {
      query: `subscription { sessionUpdated { a: id b: status c: evseId } }`,
    });
    expect(refused.error?.[0]).toMatchObject({
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
      message: expect.stringMatching(/Aliases limit/),
    });

    const accepted = await subscribed(gw.gateway, () =>
      wsOperation(gw.gateway.websocketUrl, alice.token, {
        query: `subscription { sessionUpdated { a: id b: status evseId } }`,
      }),
    );
    const started = await gw.graphql(`mutation { startCharging(input: { evseId: "DE*SIM*E0001*1" }) { session { id } } }`, {}, alice.token);
    expect(started.body.errors).toBeUndefined();
    const event = await accepted.firstNext();
    expect(event.data.sessionUpdated).toMatchObject({ a: started.body.data.startCharging.session.id, evseId: "DE*SIM*E0001*1" });
    accepted.close();
  });
});

describe("field suggestions", () => {
  it("are kept while introspection is on (development)", async () => {
    const { body } = await gw.graphql(`{ evse(id: "DE*SIM*E0001*1") { statu } }`, {}, alice.token);
    expect(body.errors[0].message).toMatch(/Did you mean "status"( or "[a-z]+")?\?/);
  });
});
