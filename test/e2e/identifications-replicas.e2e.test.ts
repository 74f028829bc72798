// Two replicas on one PostgreSQL and one Redis: a card blocked on one is refused on the other at
// once (a yes is always confirmed against the store), and a card registered on one is known on the
// other as soon as Redis carries the change (the "not ours" it had cached is dropped).
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestSchema, type TestSchema } from "../store/pg-support.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { REDIS_URL, untilSubscribed } from "../support/redis.js";
import { eventually } from "../support/wait.js";

const START = "/api/oicp/charging/v21/operators/DE*SIM/authorize/start";
const channelPrefix = `identifications-test-${randomBytes(4).toString("hex")}:`;
let schema: TestSchema;
let one: TestGateway;
let two: TestGateway;

beforeAll(async () => {
  schema = await createTestSchema();
  const env = { DATABASE_URL: schema.url, REDIS_URL, REDIS_CHANNEL_PREFIX: channelPrefix };
  one = await startTestGateway({ env });
  two = await startTestGateway({ env });
  await untilSubscribed(`${channelPrefix}identifications:changed`, 2);
}, 60_000);

afterAll(async () => {
  await one?.close();
  await two?.close();
  await schema?.drop();
});

const tap = (gw: TestGateway, uid: string) =>
  gw
    .postOicp(START, {
      SessionID: randomUUID(),
      OperatorID: "DE*SIM",
      EvseID: "DE*SIM*E0001*1",
      Identification: { RFIDMifareFamilyIdentification: { UID: uid } },
    })
    .then((r) => r.body as { AuthorizationStatus: string; StatusCode: { Code: string } });

it("a card blocked on one replica is refused on the other at once", async () => {
  const [registered] = await one.gateway.identifications.register([
    { driverId: "alice", evcoId: "DE-GQL-C00000001-7", type: "RFID_MIFARE_FAMILY", uid: "04AA00000000A1" },
  ]);
  if (!registered?.ok) throw new Error("registration refused");
  // Replica two has it in its cache, as active.
  expect(await tap(two, "04AA00000000A1")).toMatchObject({ AuthorizationStatus: "Authorized" });
  await one.gateway.identifications.block(registered.identification.id, { driverId: "alice", role: "DRIVER" });
  // No waiting for Redis: the next request on replica two is refused.
  expect(await tap(two, "04AA00000000A1")).toMatchObject({ AuthorizationStatus: "NotAuthorized", StatusCode: { Code: "200" } });
});

it("a card registered on one replica is authorized on the other once Redis carries the change", async () => {
  // Replica two answers "not ours" first, and caches that.
  expect(await tap(two, "04BB00000000B2")).toMatchObject({ AuthorizationStatus: "NotAuthorized", StatusCode: { Code: "102" } });
  await one.gateway.identifications.register([
    { driverId: "bob", evcoId: "DE-GQL-C00000002-5", type: "RFID_MIFARE_FAMILY", uid: "04BB00000000B2" },
  ]);
  // IDENTIFICATION_CACHE_MS is a minute: only the change message can make this pass in time.
  await eventually(async () => (await tap(two, "04BB00000000B2")).AuthorizationStatus === "Authorized", "replica two to know the new card");
});
