// Partial answers stay partial (GraphQL over HTTP, issue 16): an error in one field never changes
// the HTTP status of a response whose execution produced data; failures of the request itself keep
// theirs. And CSRF prevention that knows our authentication: a GET query carrying Authorization runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, START, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let alice: TestDriver;
let bobsSession: string;

beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  const bob = await driver("bob", ["DE-GQL-C00000002-5"]);
  const started = await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*2", evcoId: "DE-GQL-C00000002-5" } }, bob.token);
  bobsSession = started.body.data.startCharging.session.id;
});

afterAll(async () => {
  await gw?.close();
});

describe("an error in one field of a response with data", () => {
  it("FORBIDDEN: HTTP 200, the other field's data, the error with its path", async () => {
    const { status, body } = await gw.graphql(
      `query($id: ID!) { chargingSession(id: $id) { id } chargingSessions(first: 1) { nodes { id } } }`,
      { id: bobsSession },
      alice.token,
    );
    expect(body.errors).toMatchObject([{ path: ["chargingSession"], extensions: { code: "FORBIDDEN" } }]);
    expect(body.data).toEqual({ chargingSession: null, chargingSessions: { nodes: [] } });
    expect(status).toBe(200);
  });

  it("BAD_USER_INPUT: HTTP 200 with the rest of the data", async () => {
    const { status, body } = await gw.graphql(
      `{ evse(id: "not an evse") { id } chargingSessions(first: 1) { nodes { id } } }`,
      {},
      alice.token,
    );
    expect(body.errors?.[0]).toMatchObject({ path: ["evse"], extensions: { code: "BAD_USER_INPUT" } });
    expect(body.data.chargingSessions).toEqual({ nodes: [] });
    expect(status).toBe(200);
  });
});

describe("failures of the request itself keep their status", () => {
  it("a bad token: 401", async () => {
    const { status } = await gw.graphql(`{ chargingSessions(first: 1) { nodes { id } } }`, {}, "not-a-token");
    expect(status).toBe(401);
  });

  it("an invalid document: 400", async () => {
    const { status } = await gw.graphql(`{ noSuchField }`, {}, alice.token);
    expect(status).toBe(400);
  });

  it("an error that leaves no data at all keeps its status (a non-null root field refused)", async () => {
    const { status, body } = await gw.graphql(`{ identifications(first: 1) { edges { node { id } } } }`, {}, alice.token);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(status).toBe(403);
  });
});

describe("CSRF prevention that knows our authentication", () => {
  const get = (query: string, headers: Record<string, string>) =>
    fetch(`${gw.gateway.graphqlUrl}?query=${encodeURIComponent(query)}`, { headers }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }));

  it("a GET query carrying Authorization runs (urql, graphql-request, Apollo's useGETForQueries)", async () => {
    const { status, body } = await get(`{ chargingSessions(first: 1) { nodes { id } } }`, { authorization: `Bearer ${alice.token}` });
    expect(status).toBe(200);
    expect(body.data.chargingSessions).toEqual({ nodes: [] });
  });

  it("a GET without Authorization or a preflight header is still refused", async () => {
    const { status } = await get(`{ chargingSessions(first: 1) { nodes { id } } }`, {});
    expect(status).toBe(400);
  });

  it("a mutation never runs over GET", async () => {
    const { status } = await get(`mutation { blockIdentification(id: "x") { error { code } } }`, {
      authorization: `Bearer ${alice.token}`,
    });
    expect(status).toBe(405);
  });
});
