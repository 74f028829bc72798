// Hubject's PullEvseStatusById budget is the EMP's, not a request's: over real sockets, app reads
// share a short cache, one request reads at most EVSE_MAX_IDS_PER_REQUEST EVSEs whatever its
// shape, each driver has a limit of their own, and when the budget is spent an app gets the last
// status with its age, or a clear retryable error. Never an overrun; with Redis, across replicas.
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { driver, startTestGateway, type TestGateway } from "../support/gateway.js";
import { REDIS_URL } from "../support/redis.js";

const gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});
async function gateway(env: Record<string, string> = {}) {
  const gw = await startTestGateway({ env });
  gateways.push(gw);
  return gw;
}
const statusCalls = (gw: TestGateway) => gw.gateway.simulator!.callsTo("PullEvseStatusById");
const ids = (n: number, from = 1000) => Array.from({ length: n }, (_, i) => `DE*SIM*E${from + i}*1`);
const EVSE_QUERY = (id: string) => `{ evse(id: "${id}") { id status statusObservedAt } }`;

describe("EVSE reads against Hubject's budget", () => {
  it("320 app reads of one EVSE within 5 s make one call; every app gets the status and when it was observed", async () => {
    const gw = await gateway();
    const drivers = await Promise.all(Array.from({ length: 32 }, (_, i) => driver(`app-${i}`, [])));
    const answers = await Promise.all(
      Array.from({ length: 320 }, (_, i) => gw.graphql(EVSE_QUERY("DE*SIM*E0001*1"), {}, drivers[i % 32]!.token)),
    );
    expect(answers.every((a) => a.body.data.evse.status === "AVAILABLE")).toBe(true);
    expect(new Set(answers.map((a) => a.body.data.evse.statusObservedAt)).size).toBe(1);
    expect(statusCalls(gw)).toHaveLength(1);
  });

  it("320 reads of different EVSEs with a budget of 20 a minute: exactly 20 calls; the rest a retryable error", async () => {
    const gw = await gateway({ HUBJECT_EVSE_STATUS_CALLS_PER_MINUTE: "20", EVSE_STATUS_WINDOW_MS: "0" });
    const alice = await driver("alice", []);
    const answers = [];
    for (const id of ids(320)) answers.push(await gw.graphql(EVSE_QUERY(id), {}, alice.token));
    expect(statusCalls(gw)).toHaveLength(20);
    const refused = answers.filter((a) => a.body.errors);
    expect(refused).toHaveLength(300);
    for (const { body } of refused) {
      expect(body.errors[0]).toMatchObject({
        message: "Live charger status is busy right now. Please try again in a few seconds.",
        extensions: { code: "HUBJECT_UNAVAILABLE", retryable: true },
      });
      expect(body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    }
  });

  it("when the budget is spent, an EVSE read before is shown with the time it was observed", async () => {
    const gw = await gateway({ HUBJECT_EVSE_STATUS_CALLS_PER_MINUTE: "1", EVSE_STATUS_CACHE_MS: "0" });
    const alice = await driver("alice", []);
    const first = await gw.graphql(EVSE_QUERY("DE*SIM*E0001*1"), {}, alice.token);
    const again = await gw.graphql(EVSE_QUERY("DE*SIM*E0001*1"), {}, alice.token);
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.evse).toEqual(first.body.data.evse);
    expect(statusCalls(gw)).toHaveLength(1);
  });

  it("15 aliased evses(ids) of 100 EVSEs each: refused whole at the per-request cap, nothing read", async () => {
    const gw = await gateway();
    const alice = await driver("alice", []);
    const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: evses(ids: $ids${i}) { id status }`).join(" ");
    const params = Array.from({ length: 15 }, (_, i) => `$ids${i}: [String!]!`).join(", ");
    const variables = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`ids${i}`, ids(100, 1000 + i * 100)]));
    const { body } = await gw.graphql(`query(${params}) { ${aliases} }`, variables, alice.token);
    // The 1,500 EVSEs are asked in one batch, which passes the cap: refused before any call.
    expect(body.data).toBeNull();
    expect(
      new Set(body.errors.map((e: { message: string; extensions: { code: string } }) => `${e.extensions.code}: ${e.message}`)),
    ).toEqual(new Set(["BAD_USER_INPUT: Ask for at most 100 charging points in one request."]));
    expect(statusCalls(gw)).toHaveLength(0);
  });

  it("15 aliases asking for the same 100 EVSEs are 100 EVSEs: one call", async () => {
    const gw = await gateway();
    const alice = await driver("alice", []);
    const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: evses(ids: $ids) { id status }`).join(" ");
    const { body } = await gw.graphql(`query($ids: [String!]!) { ${aliases} }`, { ids: ids(100) }, alice.token);
    expect(body.errors).toBeUndefined();
    expect(body.data.a14).toHaveLength(100);
    expect(statusCalls(gw)).toHaveLength(1);
  });

  it("a driver past their own limit is served from the cache only, and told to wait otherwise", async () => {
    const gw = await gateway({ RATE_LIMIT_EVSE_READS_PER_MINUTE: "3" });
    const alice = await driver("alice", []);
    const bob = await driver("bob", []);
    for (const id of ids(3)) expect((await gw.graphql(EVSE_QUERY(id), {}, alice.token)).body.errors).toBeUndefined();
    const limited = await gw.graphql(EVSE_QUERY(ids(1, 2000)[0]!), {}, alice.token);
    expect(limited.status).toBe(200);
    expect(limited.body.errors[0]).toMatchObject({ extensions: { code: "RATE_LIMITED", retryable: true } });
    expect(limited.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    // What is cached still answers her, and others are not limited by her.
    expect((await gw.graphql(EVSE_QUERY(ids(1)[0]!), {}, alice.token)).body.data.evse.status).toBeDefined();
    expect((await gw.graphql(EVSE_QUERY(ids(1, 2000)[0]!), {}, bob.token)).body.errors).toBeUndefined();
    expect(statusCalls(gw)).toHaveLength(4);
  });
});

describe("with Redis, one budget and one cache for every replica", () => {
  it("two replicas with a budget of 3 a minute make 3 calls between them, and share what they read", async () => {
    const prefix = `test-${randomUUID()}:`;
    const env = { REDIS_URL, REDIS_CHANNEL_PREFIX: prefix, HUBJECT_EVSE_STATUS_CALLS_PER_MINUTE: "3", EVSE_STATUS_WINDOW_MS: "0" };
    const [one, two] = [await gateway(env), await gateway(env)];
    const alice = await driver("alice", []);
    const answers = [];
    for (const [i, id] of ids(6).entries()) answers.push(await (i % 2 === 0 ? one : two).graphql(EVSE_QUERY(id), {}, alice.token));
    expect(statusCalls(one).length + statusCalls(two).length).toBe(3);
    expect(answers.filter((a) => a.body.errors)).toHaveLength(3);
    // What one replica read, the other serves from the shared cache, with no call.
    const fromOther = await two.graphql(EVSE_QUERY(ids(1)[0]!), {}, alice.token);
    expect(fromOther.body.data.evse).toEqual(answers[0]!.body.data.evse);
    expect(statusCalls(one).length + statusCalls(two).length).toBe(3);
  });
});
