// The subgraph protocol as a router speaks it to our /graphql over HTTP: Query._service and
// Query._entities for ChargingSession, Evse and Driver — batching, ownership and sign-in.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { driver, START, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";

let gw: TestGateway;
let alice: TestDriver;
let bob: TestDriver;
const aliceSessions: string[] = [];
let bobSession: string;

const SESSION_ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename ... on ChargingSession { id status evseId evse { id status } } }
}`;
const EVSE_ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Evse { id status } } }`;
const DRIVER_ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Driver { id chargingSessions(first: 10) { nodes { id } pageInfo { hasNextPage } } } }
}`;

const sessionRef = (id: string) => ({ __typename: "ChargingSession", id });

async function startAt(who: TestDriver, evseId: string): Promise<string> {
  const { body } = await gw.graphql(START, { input: { evseId } }, who.token);
  expect(body.errors).toBeUndefined();
  return body.data.startCharging.session.id;
}

beforeAll(async () => {
  // 150 EVSEs a request, so that one request needs two status calls (the default allows 100); no
  // shared status cache, so that each test's calls are its own; bodies large enough for 2,500 references.
  gw = await startTestGateway({ env: { EVSE_MAX_IDS_PER_REQUEST: "150", EVSE_STATUS_CACHE_MS: "0", HTTP_MAX_BODY_BYTES: "262144" } });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  bob = await driver("bob", ["DE-GQL-C00000002-5"]);
  for (const evse of ["DE*SIM*E0001*1", "DE*SIM*E0001*2", "DE*SIM*E0001*3"]) aliceSessions.push(await startAt(alice, evse));
  bobSession = await startAt(bob, "DE*SIM*E0001*4");
});

afterAll(async () => {
  vi.restoreAllMocks();
  await gw?.close();
});

describe("Query._service", () => {
  it("answers the subgraph SDL with the federation link and the entity keys, without a token", async () => {
    const { body } = await gw.graphql("{ _service { sdl } }");
    expect(body.errors).toBeUndefined();
    const sdl: string = body.data._service.sdl;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])');
    expect(sdl).toMatch(/type ChargingSession\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type Evse\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type Driver\s+@key\(fields: "id"\)/);
  });
});

describe("ChargingSession references", () => {
  it("resolves N references with one store.getMany, in the order asked, unknown ids as null", async () => {
    const getMany = vi.spyOn(gw.gateway.store, "getMany");
    const representations = [...aliceSessions, "00000000-0000-4000-8000-000000000000", aliceSessions[0]!].map(sessionRef);
    const { body } = await gw.graphql(SESSION_ENTITIES, { representations }, alice.token);
    expect(body.errors).toBeUndefined();
    expect(body.data._entities.map((e: any) => e?.id ?? null)).toEqual([...aliceSessions, null, aliceSessions[0]]);
    expect(body.data._entities[0]).toMatchObject({
      __typename: "ChargingSession",
      evseId: "DE*SIM*E0001*1",
      evse: { id: "DE*SIM*E0001*1" },
    });
    expect(getMany).toHaveBeenCalledTimes(1);
    expect([...getMany.mock.calls[0]![0]].sort()).toEqual([...aliceSessions, "00000000-0000-4000-8000-000000000000"].sort());
    // (store.get is not asserted: the simulator's notifications for these charging sessions use it meanwhile.)
    getMany.mockRestore();
  });

  it("resolves another driver's session to null, with no error that would reveal it exists", async () => {
    const { body } = await gw.graphql(
      SESSION_ENTITIES,
      { representations: [sessionRef(aliceSessions[0]!), sessionRef(bobSession)] },
      alice.token,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data._entities).toEqual([expect.objectContaining({ id: aliceSessions[0] }), null]);
    // And the other way round: Bob sees his, not Alice's.
    const asBob = await gw.graphql(
      SESSION_ENTITIES,
      { representations: [sessionRef(aliceSessions[1]!), sessionRef(bobSession)] },
      bob.token,
    );
    expect(asBob.body.data._entities).toEqual([null, expect.objectContaining({ id: bobSession })]);
  });

  it("asks for a token: an anonymous reference is UNAUTHENTICATED (the router must forward Authorization)", async () => {
    const { body } = await gw.graphql(SESSION_ENTITIES, { representations: [sessionRef(aliceSessions[0]!)] }, null);
    expect(body.data._entities).toEqual([null]);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatchObject({ path: ["_entities", 0], extensions: { code: "UNAUTHENTICATED" } });
  });
});

describe("Evse references", () => {
  it("batches 150 references into PullEvseStatusById calls of at most 100 ids", async () => {
    const pull = vi.spyOn(gw.gateway.hubject, "pullEvseStatusById");
    const ids = Array.from({ length: 150 }, (_, i) => `DE*SIM*E${String(1000 + i)}*1`);
    ids[0] = "DE*SIM*E0001*1";
    const { body } = await gw.graphql(EVSE_ENTITIES, { representations: ids.map((id) => ({ __typename: "Evse", id })) }, alice.token);
    expect(body.errors).toBeUndefined();
    expect(body.data._entities).toHaveLength(150);
    expect(body.data._entities[0]).toEqual({ id: "DE*SIM*E0001*1", status: expect.any(String) });
    expect(body.data._entities.map((e: any) => e.id)).toEqual(ids);
    expect(pull.mock.calls.map(([batch]) => batch.length)).toEqual([100, 50]);
    pull.mockRestore();
  });

  it("2,500 references in one _entities call are refused whole, and Hubject is not asked", async () => {
    const pull = vi.spyOn(gw.gateway.hubject, "pullEvseStatusById");
    const ids = Array.from({ length: 2_500 }, (_, i) => `DE*SIM*E${String(10_000 + i)}*1`);
    const { body } = await gw.graphql(EVSE_ENTITIES, { representations: ids.map((id) => ({ __typename: "Evse", id })) }, alice.token);
    pull.mockRestore();
    expect(body.data._entities.every((e: unknown) => e === null)).toBe(true);
    expect(new Set(body.errors.map((e: any) => `${e.extensions.code}: ${e.message}`))).toEqual(
      new Set(["BAD_USER_INPUT: Ask for at most 150 charging points in one request."]),
    );
    expect(pull).not.toHaveBeenCalled();
  });

  it("answers null for an id that is not an EvseID, without asking Hubject", async () => {
    const pull = vi.spyOn(gw.gateway.hubject, "pullEvseStatusById");
    const { body } = await gw.graphql(EVSE_ENTITIES, { representations: [{ __typename: "Evse", id: "not an evse" }] }, alice.token);
    expect(body).toEqual({ data: { _entities: [null] } });
    expect(pull).not.toHaveBeenCalled();
    pull.mockRestore();
  });

  it("asks for a token", async () => {
    const { body } = await gw.graphql(EVSE_ENTITIES, { representations: [{ __typename: "Evse", id: "DE*SIM*E0001*1" }] }, null);
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("Driver.chargingSessions (the accounts subgraph's Driver, extended here)", () => {
  it("lists the caller's own sessions", async () => {
    const { body } = await gw.graphql(DRIVER_ENTITIES, { representations: [{ __typename: "Driver", id: "alice" }] }, alice.token);
    expect(body.errors).toBeUndefined();
    expect(body.data._entities[0].id).toBe("alice");
    expect(body.data._entities[0].chargingSessions.nodes.map((n: any) => n.id).sort()).toEqual([...aliceSessions].sort());
  });

  it("is FORBIDDEN for another driver", async () => {
    const { body } = await gw.graphql(DRIVER_ENTITIES, { representations: [{ __typename: "Driver", id: "bob" }] }, alice.token);
    expect(body.data._entities).toEqual([null]);
    expect(body.errors[0]).toMatchObject({ path: ["_entities", 0, "chargingSessions"], extensions: { code: "FORBIDDEN" } });
  });

  it("is UNAUTHENTICATED without a token", async () => {
    const { body } = await gw.graphql(DRIVER_ENTITIES, { representations: [{ __typename: "Driver", id: "alice" }] }, null);
    expect(body.errors[0]).toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
  });
});

describe("the apps' API is unchanged", () => {
  it("still answers chargingSessions and chargingSession", async () => {
    const { body } = await gw.graphql(
      `query($id: ID!) { chargingSession(id: $id) { id } chargingSessions(first: 10) { nodes { id } } }`,
      { id: aliceSessions[0] },
      alice.token,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.chargingSession.id).toBe(aliceSessions[0]);
    expect(body.data.chargingSessions.nodes).toHaveLength(3);
  });
});
