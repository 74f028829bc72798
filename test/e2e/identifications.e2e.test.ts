// The identifications over GraphQL, against a started gateway: operators (a `roles` claim holding
// OPERATOR_ROLE) register and manage every driver's; a driver sees only their own, UIDs
// shortened, and blocks a lost card; nobody ever sees a PIN, in an answer or in a log line.
import { SignJWT } from "jose";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, startTestGateway, TEST_JWT_SECRET, type TestDriver, type TestGateway } from "../support/gateway.js";

const ALICE_EVCO = "DE-GQL-C00000001-7";
const BOB_EVCO = "DE-GQL-C00000002-5";
const ALICE_CARD = "04A2B3C4D5E6F7";
const BOB_CARD = "0B1C2D3E";
const PIN = "Pz93xq7Kw";

async function tokenWithRoles(sub: string, roles: unknown, evcoIds: string[] = []): Promise<string> {
  return new SignJWT({ evco_ids: evcoIds, roles })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
}

const FIELDS = "id driverId type status blockedBy uid rfidType printedNumber evcoId expiresAt createdAt updatedAt hasPin";
const REGISTER = `mutation($input: RegisterIdentificationInput!) {
  registerIdentification(input: $input) { change identification { ${FIELDS} } error { code message problems { field message } retryable } }
}`;
const MINE = `query { myIdentifications { ${FIELDS} } }`;
const BLOCK = `mutation($id: ID!) { blockIdentification(id: $id) { identification { ${FIELDS} } error { code message problems { field message } } } }`;
const SET_STATUS = `mutation($id: ID!, $status: IdentificationStatus!) {
  setIdentificationStatus(id: $id, status: $status) { identification { ${FIELDS} } error { code message } }
}`;
const LIST = `query($driverId: String, $first: Int, $after: String) {
  identifications(driverId: $driverId, first: $first, after: $after) {
    edges { cursor node { id uid driverId } } nodes { id } pageInfo { hasNextPage endCursor }
  }
}`;

describe("identifications over GraphQL", () => {
  let gw: TestGateway;
  let alice: TestDriver;
  let bob: TestDriver;
  let operator: string;
  const logLines: string[] = [];
  const answers: string[] = [];
  let aliceCardId: string;
  let bobCardId: string;

  /** Every answer is kept for the PIN check at the end. */
  const call = async (query: string, variables: Record<string, unknown> | undefined, token: string | null) => {
    const result = await gw.graphql(query, variables, token);
    answers.push(JSON.stringify(result.body));
    return result;
  };

  beforeAll(async () => {
    const logger = pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) });
    gw = await startTestGateway({ overrides: { logger } });
    alice = await driver("alice", [ALICE_EVCO]);
    bob = await driver("bob", [BOB_EVCO]);
    operator = await tokenWithRoles("ops-1", ["support", "emp-operator"]);
  });
  afterAll(async () => gw?.close());

  it("keeps the operator operations from tokens without the operator role", async () => {
    const input = { driverId: "alice", evcoId: ALICE_EVCO, type: "RFID_MIFARE_FAMILY", uid: ALICE_CARD };
    const otherRole = await tokenWithRoles("alice", ["support"], [ALICE_EVCO]);
    for (const token of [alice.token, otherRole]) {
      for (const [query, variables] of [
        [REGISTER, { input }],
        [LIST, {}],
        [SET_STATUS, { id: "x", status: "ACTIVE" }],
      ] as const) {
        const { body } = await call(query, variables, token);
        expect(body.data).toBeNull();
        expect(body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      }
    }
    const { status, body } = await call(REGISTER, { input }, null);
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await call(MINE, undefined, null)).body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("refuses a token whose roles claim has the wrong shape, as it refuses other bad claims", async () => {
    for (const roles of ["emp-operator", ["emp-operator", 7], [""]]) {
      const { status, body } = await call(MINE, undefined, await tokenWithRoles("alice", roles, [ALICE_EVCO]));
      expect(status).toBe(401);
      expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      expect(body.errors?.[0]?.message).toMatch(/roles/);
    }
  });

  it("lets an operator register every form, idempotently, and see the UIDs in full", async () => {
    const rfid = {
      driverId: "alice",
      evcoId: ALICE_EVCO,
      type: "RFID",
      uid: ALICE_CARD,
      rfidType: "mifareDes",
      printedNumber: "GQL-0001",
      expiresAt: "2031-01-01T00:00:00.000Z",
    };
    const created = await call(REGISTER, { input: rfid }, operator);
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.registerIdentification).toMatchObject({
      change: "CREATED",
      error: null,
      identification: { driverId: "alice", type: "RFID", status: "ACTIVE", uid: ALICE_CARD, rfidType: "mifareDes", hasPin: false },
    });
    aliceCardId = created.body.data.registerIdentification.identification.id;
    const again = await call(REGISTER, { input: rfid }, operator);
    expect(again.body.data.registerIdentification).toMatchObject({ change: "UNCHANGED", identification: { id: aliceCardId } });

    const qr = await call(REGISTER, { input: { driverId: "alice", evcoId: ALICE_EVCO, type: "QR_CODE", pin: PIN } }, operator);
    expect(qr.body.data.registerIdentification).toMatchObject({
      change: "CREATED",
      identification: { type: "QR_CODE", hasPin: true, uid: null },
    });
    const bobs = await call(
      REGISTER,
      { input: { driverId: "bob", evcoId: BOB_EVCO, type: "RFID_MIFARE_FAMILY", uid: BOB_CARD } },
      operator,
    );
    bobCardId = bobs.body.data.registerIdentification.identification.id;
    // Registered with an expiry in the past: an authorization would refuse it, and it reads so.
    const past = await call(
      REGISTER,
      { input: { driverId: "bob", evcoId: BOB_EVCO, type: "PLUG_AND_CHARGE", expiresAt: "2020-01-01T00:00:00Z" } },
      operator,
    );
    expect(past.body.data.registerIdentification.identification.status).toBe("EXPIRED");

    const listed = await call(LIST, { first: 2 }, operator);
    const page = listed.body.data.identifications;
    expect(page.edges).toHaveLength(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const rest = await call(LIST, { first: 500, after: page.pageInfo.endCursor }, operator);
    expect(rest.body.data.identifications.pageInfo.hasNextPage).toBe(false);
    expect(page.nodes.length + rest.body.data.identifications.nodes.length).toBe(4);
    const bobsOnly = await call(LIST, { driverId: "bob" }, operator);
    expect(bobsOnly.body.data.identifications.edges.map((e: any) => e.node.driverId)).toEqual(["bob", "bob"]);
    expect(bobsOnly.body.data.identifications.edges.map((e: any) => e.node.uid)).toContain(BOB_CARD);
  });

  it("names the field of every problem, and never echoes the PIN", async () => {
    const { body } = await call(
      REGISTER,
      { input: { driverId: "alice", evcoId: "not-a-contract", type: "RFID", uid: "XYZ", pin: `${PIN} x` } },
      operator,
    );
    const { error, identification, change } = body.data.registerIdentification;
    expect(identification).toBeNull();
    expect(change).toBeNull();
    expect(error).toMatchObject({ code: "INVALID_INPUT", retryable: false });
    const fields = error.problems.map((p: { field: string }) => p.field);
    expect(fields).toEqual(expect.arrayContaining(["evcoId", "uid", "rfidType", "pin"]));
    for (const problem of error.problems) expect(problem.message.startsWith(`${problem.field}: `)).toBe(true);
    expect(error.message).toMatch(/evcoId: /);

    const taken = await call(
      REGISTER,
      { input: { driverId: "bob", evcoId: BOB_EVCO, type: "RFID_MIFARE_FAMILY", uid: ALICE_CARD } },
      operator,
    );
    expect(taken.body.data.registerIdentification.error).toMatchObject({
      code: "INVALID_INPUT",
      problems: [{ field: "uid/evcoId", message: "uid/evcoId: already registered to another driver" }],
    });

    const badPage = await call(LIST, { first: 501 }, operator);
    expect(badPage.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });
    const badCursor = await call(LIST, { after: "nonsense" }, operator);
    expect(badCursor.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
  });

  it("shows a driver only their own, UIDs shortened and no PIN", async () => {
    const mine = await call(MINE, undefined, alice.token);
    expect(mine.body.errors).toBeUndefined();
    const list = mine.body.data.myIdentifications;
    expect(list.map((i: any) => i.driverId)).toEqual(["alice", "alice"]);
    const rfid = list.find((i: any) => i.type === "RFID");
    expect(rfid).toMatchObject({ id: aliceCardId, uid: "…E6F7", printedNumber: "GQL-0001", evcoId: ALICE_EVCO, hasPin: false });
    expect(list.find((i: any) => i.type === "QR_CODE")).toMatchObject({ hasPin: true, uid: null });
    expect(JSON.stringify(list)).not.toContain(ALICE_CARD);
    expect(JSON.stringify(list)).not.toContain("$2");

    const bobs = await call(MINE, undefined, bob.token);
    expect(bobs.body.data.myIdentifications.map((i: any) => i.id)).not.toContain(aliceCardId);
  });

  it("lets a driver block their own card at once, but not see or block another's", async () => {
    const other = await call(BLOCK, { id: bobCardId }, alice.token);
    const unknown = await call(BLOCK, { id: "00000000-0000-0000-0000-000000000000" }, alice.token);
    // Another driver's card and no card at all read the same: nothing is revealed.
    expect(other.body.data.blockIdentification).toEqual(unknown.body.data.blockIdentification);
    expect(other.body.data.blockIdentification).toMatchObject({ identification: null, error: { code: "NOT_FOUND", problems: [] } });
    const bobsCard = await call(LIST, { driverId: "bob" }, operator);
    expect(bobsCard.body.data.identifications.edges.find((e: any) => e.node.id === bobCardId)).toBeDefined();
    expect((await gw.gateway.identifications.identification(bobCardId))?.status).toBe("ACTIVE");

    const blocked = await call(BLOCK, { id: aliceCardId }, alice.token);
    expect(blocked.body.data.blockIdentification).toMatchObject({
      error: null,
      identification: { id: aliceCardId, status: "BLOCKED", blockedBy: "DRIVER", uid: "…E6F7" },
    });
    // What an authorization reads (through the replica's cache) already says so.
    expect((await gw.gateway.identifications.find(`UID:${ALICE_CARD}`))?.status).toBe("BLOCKED");
    const mine = await call(MINE, undefined, alice.token);
    expect(mine.body.data.myIdentifications.find((i: any) => i.id === aliceCardId).status).toBe("BLOCKED");

    // Registering it again never unblocks it; the operator does.
    const again = await call(
      REGISTER,
      {
        input: {
          driverId: "alice",
          evcoId: ALICE_EVCO,
          type: "RFID",
          uid: ALICE_CARD,
          rfidType: "mifareDes",
          printedNumber: "GQL-0001",
          expiresAt: "2031-01-01T00:00:00.000Z",
        },
      },
      operator,
    );
    expect(again.body.data.registerIdentification.identification.status).toBe("BLOCKED");
    const unblocked = await call(SET_STATUS, { id: aliceCardId, status: "ACTIVE" }, operator);
    expect(unblocked.body.data.setIdentificationStatus).toMatchObject({
      error: null,
      identification: { status: "ACTIVE", blockedBy: null },
    });
    expect((await gw.gateway.identifications.find(`UID:${ALICE_CARD}`))?.status).toBe("ACTIVE");
    const missing = await call(SET_STATUS, { id: "no-such-id", status: "BLOCKED" }, operator);
    expect(missing.body.data.setIdentificationStatus).toMatchObject({ identification: null, error: { code: "NOT_FOUND" } });
  });

  it("never shows a PIN or a PIN hash, in any answer or log line", () => {
    expect(answers.length).toBeGreaterThan(10);
    const everything = [...answers, ...logLines].join("\n");
    expect(everything).not.toContain(PIN);
    expect(everything).not.toMatch(/\$2[aby]\$/);
    // Logs shorten UIDs too (answers to operators hold them in full).
    expect(logLines.join("\n")).not.toContain(ALICE_CARD);
    expect(logLines.some((line) => line.includes("identification status changed"))).toBe(true);
  });
});
