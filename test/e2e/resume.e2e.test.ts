// Lossless reconnects (issue 16): sessionUpdated(since) first sends every session of the caller
// that changed at or after the resume point, as it is now, then the live events, with no gap and
// no duplicate at the seam. A resume point in the future or malformed is BAD_USER_INPUT.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, START, STOP, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";

const RESUME = `subscription($since: DateTime, $sessionId: ID) { sessionUpdated(since: $since, sessionId: $sessionId) { id status version updatedAt } }`;
let gw: TestGateway;
let alice: TestDriver;

beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => {
  await gw?.close();
});

/** Per session, the versions received, in order: strictly increasing means no duplicate and no reordering. */
function versionsBySession(events: Array<{ id: string; version: number }>): Map<string, number[]> {
  const by = new Map<string, number[]>();
  for (const e of events) by.set(e.id, [...(by.get(e.id) ?? []), e.version]);
  return by;
}

describe("sessionUpdated(since)", () => {
  it("sends what changed while away, then the live events, each version once", async () => {
    const away = new Date(Date.now() - 1);
    // While the app is away, a whole session happens: started, charged, stopped, completed.
    const watcher = await subscribed(gw.gateway, () => gw.subscribe(alice.token, `subscription { sessionUpdated { id status } }`));
    const one = (await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token)).body.data.startCharging.session.id;
    await watcher.waitFor((s) => s.id === one && s.status === "CHARGING");
    await gw.graphql(STOP, { input: { sessionId: one } }, alice.token);
    await watcher.waitFor((s) => s.id === one && s.status === "COMPLETED");
    await watcher.dispose();
    const final = await gw.gateway.store.get(one);

    // The app comes back with its resume point. Nothing changes any more, so only the catch-up
    // can bring it the session, as it is now.
    const resumed = await subscribed(gw.gateway, () => gw.subscribe(alice.token, RESUME, { since: away.toISOString() }));
    const caught = await resumed.waitFor((s) => s.id === one);
    expect(caught).toMatchObject({ status: "COMPLETED", version: final!.version });
    // Then the live events: a new session, up to COMPLETED.
    const two = (await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*3" } }, alice.token)).body.data.startCharging.session.id;
    await resumed.waitFor((s) => s.id === two && s.status === "CHARGING");
    await gw.graphql(STOP, { input: { sessionId: two } }, alice.token);
    await resumed.waitFor((s) => s.id === two && s.status === "COMPLETED");
    for (const versions of versionsBySession(resumed.events).values()) {
      expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
    }
    expect(resumed.events.filter((s) => s.id === one)).toHaveLength(1);
    await resumed.dispose();
  });

  it("a resume point after the last change sends nothing first", async () => {
    const resumed = await subscribed(gw.gateway, () => gw.subscribe(alice.token, RESUME, { since: new Date().toISOString() }));
    const two = (await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*2" } }, alice.token)).body.data.startCharging.session.id;
    const first = await resumed.waitFor(() => true);
    expect(first.id).toBe(two);
    await gw.graphql(STOP, { input: { sessionId: two } }, alice.token);
    await resumed.waitFor((s) => s.id === two && s.status === "COMPLETED");
    await resumed.dispose();
  });

  it("a resume point in the future is BAD_USER_INPUT naming `since`", async () => {
    const resumed = gw.subscribe(alice.token, RESUME, { since: new Date(Date.now() + 3_600_000).toISOString() });
    await expect.poll(() => resumed.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(resumed.errors)).toMatch(/since/);
    expect(JSON.stringify(resumed.errors)).toMatch(/BAD_USER_INPUT/);
    await resumed.dispose();
  });

  it("a malformed resume point is refused", async () => {
    const resumed = gw.subscribe(alice.token, RESUME, { since: "yesterday-ish" });
    await expect.poll(() => resumed.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(resumed.errors)).toMatch(/since/);
    await resumed.dispose();
  });
});
