// SessionReads on the real store: a driver sees their own sessions only, and what the gateway
// learns from their token (their contracts) is written at most once an hour.
import { GraphQLError } from "graphql";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { NewSession } from "../../src/sessions/session.store.js";
import { SessionReads } from "../../src/sessions/session-reads.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { CONTRACT, driver, later, newSession, OTHER_CONTRACT, OTHER_EVSE, openStore, T0 } from "./support.js";

const HOUR = 3_600_000;
const alice = driver();
const bob = driver("bob", [OTHER_CONTRACT]);

let store: SqlSessionStore;
let reads: SessionReads;
beforeEach(async () => {
  store = await openStore();
  reads = new SessionReads(store);
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close();
});

const session = (fields: Partial<NewSession> = {}) => store.insert(newSession(fields));

async function clientError(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphQLError);
  return error as GraphQLError;
}

describe("sessionForDriver", () => {
  it("gives the driver their own session, and null for an id nobody has", async () => {
    const mine = await session();

    expect(await reads.sessionForDriver(alice, mine.id)).toEqual(mine);
    expect(await reads.sessionForDriver(alice, "no-such-session")).toBeNull();
  });

  it("refuses another driver's session as FORBIDDEN", async () => {
    const theirs = await session({ driverId: "bob", evcoId: OTHER_CONTRACT });

    const error = await clientError(reads.sessionForDriver(alice, theirs.id));

    expect(error.extensions).toMatchObject({ code: "FORBIDDEN", http: { status: 403 } });
  });
});

describe("ownSession", () => {
  it("names the session and the verb when the id is unknown: BAD_USER_INPUT on sessionId", async () => {
    const error = await clientError(reads.ownSession(alice, "no-such-session", "stop"));

    expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "sessionId" });
    expect(error.message).toBe('There is no charging session with id "no-such-session" to stop.');
  });

  it("is FORBIDDEN for another driver's session, and the session itself for its driver", async () => {
    const theirs = await session({ driverId: "bob", evcoId: OTHER_CONTRACT });

    expect((await clientError(reads.ownSession(alice, theirs.id, "follow"))).extensions.code).toBe("FORBIDDEN");
    expect(await reads.ownSession(bob, theirs.id, "follow")).toEqual(theirs);
  });
});

describe("listForDriver", () => {
  it("pages through the driver's own sessions only, newest first", async () => {
    const older = await session({ status: "COMPLETED" });
    const newer = await session({ evseId: OTHER_EVSE, requestedAt: later(60_000) });
    await session({ driverId: "bob", evcoId: OTHER_CONTRACT });

    const all = await reads.listForDriver(alice, { first: 10 });
    const active = await reads.listForDriver(alice, { first: 10, active: true });
    const firstPage = await reads.listForDriver(alice, { first: 1 });

    expect(all.sessions.map((s) => s.id)).toEqual([newer.id, older.id]);
    expect(active.sessions.map((s) => s.id)).toEqual([newer.id]);
    expect(firstPage).toMatchObject({ hasNextPage: true, sessions: [{ id: newer.id }] });
  });
});

describe("rememberContracts", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
  });

  it("records the driver's contracts, so that sessions started at the charger find them", async () => {
    await reads.rememberContracts(driver("dave", [CONTRACT, OTHER_CONTRACT]));

    expect(await store.driverForContract(CONTRACT)).toBe("dave");
    expect(await store.driverForContract(OTHER_CONTRACT.toLowerCase())).toBe("dave");
  });

  it("writes at most once an hour per driver", async () => {
    const writes = vi.spyOn(store, "recordDriverContracts");

    await reads.rememberContracts(alice);
    vi.setSystemTime(later(HOUR - 1));
    await reads.rememberContracts(alice);
    await reads.rememberContracts(bob);
    vi.setSystemTime(later(HOUR));
    await reads.rememberContracts(alice);

    expect(writes.mock.calls).toEqual([
      ["alice", [CONTRACT]],
      ["bob", [OTHER_CONTRACT]],
      ["alice", [CONTRACT]],
    ]);
  });

  it("writes once for many requests of one driver at the same time", async () => {
    const writes = vi.spyOn(store, "recordDriverContracts");

    await Promise.all(Array.from({ length: 10 }, () => reads.rememberContracts(alice)));

    expect(writes).toHaveBeenCalledTimes(1);
  });

  it("writes nothing for a driver without contracts", async () => {
    const writes = vi.spyOn(store, "recordDriverContracts");

    await reads.rememberContracts(driver("carol", []));

    expect(writes).not.toHaveBeenCalled();
  });
});
