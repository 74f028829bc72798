// A restart in the middle loses nothing: a gateway process is killed (SIGKILL) while its remote
// start is in flight; the CPO charges anyway and its End and CDR go nowhere (Hubject does not
// redeliver). The restarted gateway settles the lost answer and fetches the CDR back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { driver, FAST_PACE, SESSION_UPDATED, START, startTestGateway, subscribed, TEST_JWT_SECRET } from "../support/gateway.js";
import { spawnGateway } from "../support/process-gateway.js";

const dataDir = mkdtempSync(join(tmpdir(), "emp-gw-crash-"));
let sim: HubjectSimulator;

// The gateway process runs dist/, built from the current code by test/support/build.ts.
afterAll(async () => {
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it("a gateway killed mid-call comes back, settles the session and recovers the CDR it missed", async () => {
  sim = await startSimulator({ providerId: "DE-GQL", port: 0, pace: { ...FAST_PACE, autoStopAfterMs: 400 } });
  const env = {
    DATABASE_URL: join(dataDir, "gateway.sqlite"),
    HUBJECT_BASE_URL: sim.url,
    HUBJECT_PROVIDER_ID: "DE-GQL",
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    MUTATION_WAIT_MS: "100",
    RECONCILE_INTERVAL_MS: "0",
    CDR_BACKFILL_INTERVAL_MS: "0",
    OICP_ALLOW_PLAIN_HTTP: "true",
  };
  const alice = await driver("alice", ["DE-GQL-C00000001-7"]);

  // 1. The first gateway sends the start; Hubject answers only after 600 ms.
  const first = await spawnGateway(env);
  sim.setGatewayOicpUrl(first.oicpUrl);
  sim.failNext("AuthorizeRemoteStart", { kind: "delay", ms: 600 });
  const response = await fetch(first.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
    body: JSON.stringify({ query: START, variables: { input: { evseId: "DE*SIM*E0001*1" } } }),
  });
  const { session } = ((await response.json()) as any).data.startCharging;
  expect(session.status).toBe("REQUESTED");

  // 2. It dies before the answer. The CPO charges, ends by itself, and every delivery fails.
  await first.kill();
  await sim.idle();
  const lost = sim.deliveries.filter((d) => d.body && (d.body as { EMPPartnerSessionID?: string }).EMPPartnerSessionID === session.id);
  expect(lost.map((d) => d.type)).toEqual(expect.arrayContaining(["Start", "End", "ChargeDetailRecord"]));
  expect(lost.every((d) => d.error !== null)).toBe(true);

  // 3. A new gateway on the same database.
  const second = await startTestGateway({ dataDir, env: { HUBJECT_BASE_URL: sim.url } });
  try {
    sim.setGatewayOicpUrl(second.gateway.oicpUrl);
    const watch = await subscribed(second.gateway, () => second.subscribe(alice.token, SESSION_UPDATED, { sessionId: session.id }));
    expect((await second.gateway.store.get(session.id))?.status).toBe("REQUESTED");

    // The answer was lost with the process: the reconciler says so (and never re-sends the start).
    const report = await second.gateway.reconciler.run(new Date(Date.now() + 5 * 60_000));
    expect(report.lostAnswers).toBe(1);
    await watch.waitFor((s) => s.status === "OUTCOME_UNKNOWN");

    // The CDR Hubject could not deliver comes back through GetChargeDetailRecords.
    expect(await second.gateway.cdrBackfill.run()).toMatchObject({ fetched: 1, stored: 1 });
    const completed = await watch.waitFor((s) => s.status === "COMPLETED");
    expect(completed.consumedEnergyKwh).toBeGreaterThan(0);
    expect(completed.hubjectSessionId).toBe(sim.hubjectSessionIdFor(session.id));
    expect(sim.callsTo("AuthorizeRemoteStart")).toHaveLength(1);
  } finally {
    await second.close({ removeData: false });
  }
}, 60_000);

it("shuts down on SIGTERM outside tests too (Apollo's own signal handlers once left it hanging)", async () => {
  const gateway = await spawnGateway({
    NODE_ENV: "development",
    DATABASE_URL: join(dataDir, "sigterm.sqlite"),
    SIMULATOR_PORT: "0",
    RECONCILE_INTERVAL_MS: "0",
    CDR_BACKFILL_INTERVAL_MS: "0",
  });
  const code = await Promise.race([
    gateway.stop(),
    new Promise<string>((resolve) => setTimeout(() => resolve("still running after 10 s"), 10_000)),
  ]);
  if (code !== 0) await gateway.kill();
  expect(code).toBe(0);
}, 30_000);
