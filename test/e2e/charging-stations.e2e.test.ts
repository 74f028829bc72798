// Query.chargingStations, Evse's catalogue fields and Subscription.evseStatusChanged over real
// HTTP and graphql-ws, fed by the gateway's own catalogue jobs from the built-in simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";

const SEARCH = `query Near($near: GeoPointInput!, $radiusKm: Float!, $filter: ChargingStationFilter, $first: Int, $after: String) {
  chargingStations(near: $near, radiusKm: $radiusKm, filter: $filter, first: $first, after: $after) {
    nodes { id name operatorId distanceKm address { city } openingTimes { on periods { begin end } } authenticationModes
      evses { id plugs maxPowerKw status statusObservedAt statusAgeSeconds } }
    pageInfo { endCursor hasNextPage }
  }
}`;
const ALEX = { latitude: 52.5219, longitude: 13.4132 };

let gw: TestGateway;
let alice: TestDriver;

beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  await gw.gateway.jobs.runNow("catalogue-data");
  await gw.gateway.jobs.runNow("catalogue-status");
}, 60_000);
afterAll(async () => {
  await gw.close();
});

describe("chargingStations", () => {
  it("answers the stations nearest first, with their EVSEs and statuses", async () => {
    const { body } = await gw.graphql(SEARCH, { near: ALEX, radiusKm: 2, first: 10 }, alice.token);
    expect(body.errors).toBeUndefined();
    const nodes = body.data.chargingStations.nodes;
    expect(nodes.length).toBe(10);
    const distances = nodes.map((n: { distanceKm: number }) => n.distanceKm);
    expect(distances).toEqual([...distances].sort((a: number, b: number) => a - b));
    expect(nodes[0].operatorId).toBe("DE*SIM");
    expect(nodes[0].evses[0].status).not.toBeNull();
    const next = await gw.graphql(
      SEARCH,
      { near: ALEX, radiusKm: 2, first: 10, after: body.data.chargingStations.pageInfo.endCursor },
      alice.token,
    );
    expect(next.body.data.chargingStations.nodes[0].distanceKm).toBeGreaterThanOrEqual(distances.at(-1));
  });

  it("refuses out-of-range arguments with BAD_USER_INPUT naming the argument", async () => {
    for (const [variables, field] of [
      [{ near: ALEX, radiusKm: 500 }, "radiusKm"],
      [{ near: { latitude: 91, longitude: 0 }, radiusKm: 1 }, "near.latitude"],
      [{ near: { latitude: 0, longitude: 181 }, radiusKm: 1 }, "near.longitude"],
      [{ near: ALEX, radiusKm: 1, first: 1000 }, "first"],
    ] as const) {
      const { body } = await gw.graphql(SEARCH, variables, alice.token);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
    }
  });

  it("serves Evse with the catalogue's station, plugs and power beside its live status", async () => {
    const { body } = await gw.graphql(
      `{ evse(id: "DE*SIM*E0001*4") { id status statusObservedAt plugs maxPowerKw station { id name operatorId address { city } } } }`,
      {},
      alice.token,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.evse).toMatchObject({
      maxPowerKw: 150,
      plugs: ["CCS Combo 2 Plug (Cable Attached)"],
      station: { operatorId: "DE*SIM" },
    });
  });

  it("pushes status changes to the EVSEs' subscribers", async () => {
    const evseData = gw.gateway.simulator!.evseData;
    const id = evseData.evseIds().find((e) => !e.startsWith("DE*SIM"))!;
    evseData.setStatus(id, "Available");
    await gw.gateway.jobs.runNow("catalogue-status");
    const subscription = await subscribed(gw.gateway, () =>
      gw.subscribe(alice.token, `subscription($ids: [ID!]!) { evseStatusChanged(evseIds: $ids) { evseId status observedAt } }`, {
        ids: [id],
      }),
    );
    evseData.setStatus(id, "Occupied");
    await gw.gateway.jobs.runNow("catalogue-status");
    const event = await subscription.waitFor((e) => e.evseId === id);
    expect(event.status).toBe("OCCUPIED");
    const tooMany = gw.subscribe(alice.token, `subscription($ids: [ID!]!) { evseStatusChanged(evseIds: $ids) { evseId } }`, {
      ids: Array.from({ length: 101 }, (_, i) => `DE*SIM*E${String(i).padStart(4, "0")}*1`),
    });
    await expect.poll(() => tooMany.errors.length).toBeGreaterThan(0);
    await subscription.dispose();
    await tooMany.dispose();
  });
});
