// EVSE status against Hubject's limits (100 ids a call, 300 calls a minute): one query for 250
// EVSEs makes 3 calls; concurrent requests within the shared window share calls.
import { afterEach, describe, expect, it } from "vitest";
import { driver, startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `DE*SIM*E${String(1000 + i)}*1`);
const statusCalls = () => gw!.gateway.simulator!.callsTo("PullEvseStatusById");

describe("EVSE status batching", () => {
  it("one query for 250 EVSEs makes 3 upstream calls (100 + 100 + 50), answers in order", async () => {
    gw = await startTestGateway({ env: { EVSE_STATUS_WINDOW_MS: "0", EVSE_MAX_IDS_PER_REQUEST: "500" } });
    const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
    const asked = [...ids(249), "DE*SIM*E0001*1"];
    const { body } = await gw.graphql(`query($ids: [String!]!) { evses(ids: $ids) { id status } }`, { ids: asked }, alice.token);
    expect(body.errors).toBeUndefined();
    expect(body.data.evses.map((e: { id: string }) => e.id)).toEqual(asked);
    expect(body.data.evses.at(-1).status).toBe("AVAILABLE");
    expect(statusCalls().map((c) => (c.body as { EvseID: string[] }).EvseID.length)).toEqual([100, 100, 50]);
  });

  it("refuses more than 500 ids and malformed ones without calling Hubject", async () => {
    gw = await startTestGateway({ env: { EVSE_MAX_IDS_PER_REQUEST: "500" } });
    const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
    for (const asked of [ids(501), ["DE*SIM*E0001*1", "nonsense"]]) {
      const { body } = await gw.graphql(`query($ids: [String!]!) { evses(ids: $ids) { id } }`, { ids: asked }, alice.token);
      expect(body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    }
    expect(statusCalls()).toHaveLength(0);
  });

  it("200 concurrent requests share calls within the window, and each gets its own answer", async () => {
    gw = await startTestGateway({ env: { EVSE_STATUS_WINDOW_MS: "200" } });
    const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
    const asked = ids(200);
    const answers = await Promise.all(asked.map((id) => gw!.graphql(`{ evse(id: "${id}") { id status } }`, {}, alice.token)));
    expect(answers.map((a) => a.body.data.evse.id)).toEqual(asked);
    // Without the window each request would make its own call (200); with it, a handful.
    expect(statusCalls().length).toBeLessThanOrEqual(10);
    expect(statusCalls().every((c) => (c.body as { EvseID: string[] }).EvseID.length <= 100)).toBe(true);
  });

  it("without the window, concurrent requests each make their own call", async () => {
    gw = await startTestGateway({ env: { EVSE_STATUS_WINDOW_MS: "0" } });
    const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
    await Promise.all(ids(20).map((id) => gw!.graphql(`{ evse(id: "${id}") { id } }`, {}, alice.token)));
    expect(statusCalls()).toHaveLength(20);
  });
});
