// GRAPHQL_EXECUTION=jit (compiled, graphql-jit) must answer exactly as graphql-js does. Two
// gateways share one SQLite file: one compiles, one interprets; every request below goes to both
// and the HTTP status and body must be identical, errors included (stack traces aside).
// jit-executor.test.ts checks which requests compile and which stay on graphql-js.
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, START, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";

let jit: TestGateway;
let interpreted: TestGateway;
let alice: TestDriver;
let bob: TestDriver;
const sessionIds: string[] = [];

beforeAll(async () => {
  jit = await startTestGateway({ env: { GRAPHQL_EXECUTION: "jit", INTROSPECTION_ENABLED: "true" } });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  bob = await driver("bob", ["DE-GQL-C00000002-7"]);
  // EVSEs the simulator does not know: refused at once (603), so no session moves on while the
  // two gateways are compared (each has its own simulator; they agree on unused EVSEs only).
  for (const [who, evseId] of [
    [alice, "DE*SIM*E9001*1"],
    [alice, "DE*SIM*E9002*1"],
    [alice, "DE*SIM*E9003*1"],
    [bob, "DE*SIM*E9004*1"],
  ] as const) {
    const { body } = await jit.graphql(START, { input: { evseId } }, who.token);
    expect(body.errors).toBeUndefined();
    sessionIds.push(body.data.startCharging.session.id);
  }
  // The second gateway reads the same SQLite file (its background jobs are off in the test kit).
  interpreted = await startTestGateway({ dataDir: jit.dataDir, env: { GRAPHQL_EXECUTION: "graphql-js", INTROSPECTION_ENABLED: "true" } });
});

afterAll(async () => {
  await interpreted?.close();
  await jit?.close({ removeData: true });
});

async function post(gw: TestGateway, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(gw.gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** Stack traces (development mode) name the engine's own frames; everything else must match. */
function withoutStacks(value: any): any {
  if (Array.isArray(value)) return value.map(withoutStacks);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== "stacktrace")
        .map(([k, v]) => [k, withoutStacks(v)]),
    );
  }
  return value;
}

/** Sends one request to both gateways; they must agree to the byte (after JSON parsing). */
async function same(body: unknown, token: string | null) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const [a, b] = [await post(jit, body, headers), await post(interpreted, body, headers)];
  expect(withoutStacks(a)).toEqual(withoutStacks(b));
  return a;
}

const PAGE = `
  query Page($first: Int!, $after: String, $withEvse: Boolean!, $skipCursor: Boolean = false) {
    mine: chargingSessions(first: $first, after: $after) {
      __typename
      nodes { ...Basics evse @include(if: $withEvse) { id status } }
      edges { cursor @skip(if: $skipCursor) node { id } }
      pageInfo { hasNextPage endCursor }
    }
    active: chargingSessions(first: 5, active: true) { nodes { id status } }
  }
  fragment Basics on ChargingSession { id status evseId evcoId origin requestedAt consumedEnergyKwh stale figuresSource lastStatusCode { code description } }`;

describe("compiled and interpreted execution answer alike", () => {
  it("a page with aliases, fragments, directives, variables, nested EVSE status and cursors", async () => {
    const first = await same({ query: PAGE, variables: { first: 2, withEvse: true } }, alice.token);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.mine.nodes).toHaveLength(2);
    const after = first.body.data.mine.pageInfo.endCursor;
    const second = await same({ query: PAGE, variables: { first: 2, after, withEvse: false, skipCursor: true } }, alice.token);
    expect(second.body.data.mine.nodes.map((n: any) => n.id)).toEqual([sessionIds[0]]);
    expect(first.body.data.mine.nodes[0]).toMatchObject({
      status: "REJECTED",
      lastStatusCode: { code: "603" },
      evse: { status: "NOT_FOUND" },
    });
    expect(second.body.data.mine.edges[0]).toEqual({ node: { id: sessionIds[0] } });
  });

  it("omitted variables take their defaults", async () => {
    const withDefault = `query($first: Int! = 1, $active: Boolean) { chargingSessions(first: $first, active: $active) { nodes { id } pageInfo { hasNextPage } } }`;
    const r = await same({ query: withDefault, variables: {} }, alice.token);
    expect(r.body.data.chargingSessions).toEqual({ nodes: [{ id: sessionIds[2] }], pageInfo: { hasNextPage: true } });
  });

  it("bad variables: wrong type, missing, null for non-null, not an integer", async () => {
    for (const variables of [
      { first: "two", withEvse: true },
      { withEvse: true },
      { first: null, withEvse: true },
      { first: 1.5, withEvse: true },
    ]) {
      const r = await same({ query: PAGE, variables }, alice.token);
      expect(r.body.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe("BAD_USER_INPUT");
    }
  });

  it("errors raised by resolvers, with their paths: bad page size, bad cursor, no token", async () => {
    const tooMany = await same({ query: PAGE, variables: { first: 500, withEvse: false } }, alice.token);
    expect(tooMany.body.errors[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT" }, path: ["mine"] });
    const badCursor = await same({ query: PAGE, variables: { first: 1, after: "bm9wZQ", withEvse: false } }, alice.token);
    expect(badCursor.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    const anonymous = await same({ query: PAGE, variables: { first: 1, withEvse: false } }, null);
    expect(anonymous.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("single session, other drivers' sessions, EVSE lists with unknown ids, entities of two types", async () => {
    const one = await same(
      { query: `query($id: ID!) { chargingSession(id: $id) { id status evse { id } } }`, variables: { id: sessionIds[0] } },
      alice.token,
    );
    expect(one.body.data.chargingSession.id).toBe(sessionIds[0]);
    const theirs = await same(
      { query: `query($id: ID!) { chargingSession(id: $id) { id } }`, variables: { id: sessionIds[3] } },
      alice.token,
    );
    expect(theirs.body.data.chargingSession).toBeNull();
    await same({ query: `{ evses(ids: ["DE*SIM*E0005*1", "DE*SIM*E7777*1"]) { id status } }` }, alice.token);
    const entities = await same(
      {
        query: `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on ChargingSession { id status } ... on Evse { evseId: id evseStatus: status } } }`,
        variables: {
          r: [
            { __typename: "ChargingSession", id: sessionIds[1] },
            { __typename: "Evse", id: "DE*SIM*E0005*1" },
            { __typename: "ChargingSession", id: sessionIds[3] },
          ],
        },
      },
      alice.token,
    );
    expect(entities.body.errors, JSON.stringify(entities.body.errors)).toBeUndefined();
    expect(entities.body.data._entities.map((e: any) => e?.__typename ?? null)).toEqual(["ChargingSession", "Evse", null]);
  });

  it("a mutation refused by its resolver, and introspection", async () => {
    const stop = await same(
      {
        query: `mutation($id: ID!) { stopCharging(input: { sessionId: $id }) { session { id } error { __typename message } } }`,
        variables: { id: "00000000-0000-4000-8000-000000000000" },
      },
      alice.token,
    );
    expect(stop.body).toMatchObject({ data: null, errors: [{ extensions: { code: "BAD_USER_INPUT" }, path: ["stopCharging"] }] });
    const introspection = await same({ query: getIntrospectionQuery() }, null);
    expect(introspection.body.data.__schema.queryType.name).toBe("Query");
  });
});
