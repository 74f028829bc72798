// Sessions live in the SQLite file: a restarted gateway answers with what it knew.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { driver, SESSION_UPDATED, START, STOP, startTestGateway } from "../support/gateway.js";

const dataDir = mkdtempSync(join(tmpdir(), "emp-gw-restart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("keeps sessions across a restart", async () => {
  const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  const first = await startTestGateway({ dataDir });
  const watch = first.subscribe(alice.token, SESSION_UPDATED);
  const done = (await first.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token)).body.data.startCharging.session;
  await watch.waitFor((s) => s.id === done.id && s.status === "CHARGING");
  await first.graphql(STOP, { input: { sessionId: done.id } }, alice.token);
  const completed = await watch.waitFor((s) => s.id === done.id && s.status === "COMPLETED");
  const running = (await first.graphql(START, { input: { evseId: "DE*SIM*E0001*2" } }, alice.token)).body.data.startCharging.session;
  await first.close({ removeData: false });

  const second = await startTestGateway({ dataDir });
  try {
    const { body } = await second.graphql(
      `{ chargingSessions { nodes { id status hubjectSessionId consumedEnergyKwh chargeDetailRecord { consumedEnergyKwh } } } }`,
      {},
      alice.token,
    );
    const nodes = body.data.chargingSessions.nodes;
    expect(nodes.map((n: { id: string }) => n.id)).toEqual([running.id, done.id]);
    expect(nodes[1]).toEqual({
      id: done.id,
      status: "COMPLETED",
      hubjectSessionId: done.hubjectSessionId,
      consumedEnergyKwh: completed.consumedEnergyKwh,
      chargeDetailRecord: { consumedEnergyKwh: completed.consumedEnergyKwh },
    });
    expect(nodes[0]).toMatchObject({ id: running.id, hubjectSessionId: running.hubjectSessionId });
  } finally {
    await second.close({ removeData: false });
  }
});
