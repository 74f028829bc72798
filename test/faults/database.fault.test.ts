// Database faults are weather, not death: a gateway process on PostgreSQL, under load, has its
// connections killed again and again (pg_terminate_backend, and every socket cut at once), then
// meets a failover-like gap in which connections are refused for a few seconds. The process stays
// up, /readyz tells the truth, requests fail with a clear retryable error while the store is gone,
// and nothing that was acknowledged is lost.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { adminQuery, createTestSchema, TEST_DATABASE_URL, type TestSchema } from "../store/pg-support.js";
import { driver, START, TEST_JWT_SECRET, type TestDriver } from "../support/gateway.js";
import { type ProcessGateway, spawnGateway } from "../support/process-gateway.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { eventually } from "../support/wait.js";

const appName = `fault_${randomBytes(4).toString("hex")}`;
let schema: TestSchema;
let proxy: TcpProxy;
let gateway: ProcessGateway;
let alice: TestDriver;
let exited: { code: number | null } | null = null;
const output: string[] = [];
const alive = () => expect(exited, `the gateway process exited:\n${output.join("\n")}`).toBeNull();

beforeAll(async () => {
  schema = await createTestSchema();
  const server = new URL(TEST_DATABASE_URL);
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  const url = new URL(schema.url);
  url.host = `${proxy.host}:${proxy.port}`;
  url.searchParams.set("application_name", appName);
  gateway = await spawnGateway({
    DATABASE_URL: url.toString(),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    HUBJECT_PROVIDER_ID: "DE-GQL",
    SIMULATOR_PORT: "0",
    OICP_ALLOW_PLAIN_HTTP: "true",
    RATE_LIMIT_MUTATIONS_PER_MINUTE: "100000",
    RECONCILE_INTERVAL_MS: "2000",
    CDR_BACKFILL_INTERVAL_MS: "0",
  });
  gateway.child.once("exit", (code) => {
    exited = { code };
  });
  // The process's last words, for the failure message.
  for (const stream of [gateway.child.stdout!, gateway.child.stderr!]) {
    stream.on("data", (chunk) => {
      output.push(...String(chunk).split("\n").filter(Boolean));
      output.splice(0, Math.max(0, output.length - 40));
    });
  }
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
}, 60_000);

afterAll(async () => {
  await gateway?.stop().catch(() => undefined);
  await proxy?.close();
  await schema?.drop();
});

const readyz = async () => (await fetch(gateway.graphqlUrl.replace("/graphql", "/readyz"))).status;
const healthz = async () => (await fetch(gateway.graphqlUrl.replace("/graphql", "/healthz"))).status;
const killBackends = () =>
  adminQuery("select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()", [appName]);

it("killed connections and a refused gap: the process stays up, readiness tells the truth, nothing acknowledged is lost", async () => {
  const acknowledged: string[] = [];
  /** Answers given while the store could not be reached: OICP 021, GraphQL SERVICE_UNAVAILABLE. */
  const refused = { oicp: 0, graphql: 0 };
  const sessions: string[] = [];
  const driverErrors = new Set<string>();
  let running = true;
  const cdrPath = `${gateway.oicpUrl}/api/oicp/cdrmgmt/v22/operators/DE*SIM/charge-detail-record`;

  const oicpLoad = (async () => {
    while (running) {
      const sessionId = randomUUID();
      const body = {
        SessionID: sessionId,
        EvseID: "DE*SIM*E0001*1",
        Identification: { RemoteIdentification: { EvcoID: "DE-GQL-C99999999-1" } },
        SessionStart: "2026-12-04T09:00:00+01:00",
        SessionEnd: "2026-12-04T10:00:00+01:00",
        ConsumedEnergy: 1.5,
      };
      const answer = await fetch(cdrPath, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
        .then((r) => r.json() as Promise<{ Result: boolean; StatusCode: { Code: string } }>)
        .catch(() => null);
      if (answer?.Result === true) acknowledged.push(sessionId);
      else if (answer) {
        expect(answer.StatusCode.Code).toBe("021"); // a system error, never a false acknowledgement
        refused.oicp++;
      }
    }
  })();
  const graphqlLoad = (async () => {
    let n = 0;
    while (running) {
      const evseId = `DE*SIM*E0001*${(n++ % 4) + 1}`;
      const response = await fetch(gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ query: START, variables: { input: { evseId, idempotencyKey: randomUUID() } } }),
      }).catch(() => null);
      if (!response) continue;
      const body = (await response.json()) as { data?: any; errors?: Array<{ message: string; extensions: { code: string } }> };
      const id = body.data?.startCharging?.session?.id;
      if (id) sessions.push(id);
      for (const error of body.errors ?? []) {
        driverErrors.add(`${error.extensions.code}: ${error.message}`);
        if (error.extensions.code === "SERVICE_UNAVAILABLE") refused.graphql++;
      }
    }
  })();

  // Load flows first.
  await eventually(() => acknowledged.length > 5 && sessions.length > 2, "load to flow");

  // Connections killed, again and again (bounded): server-side terminations and cut sockets.
  for (let round = 0; round < 12; round++) {
    if (round % 2 === 0) await killBackends();
    else proxy.cut();
    const before = acknowledged.length;
    await eventually(() => exited !== null || acknowledged.length > before, `messages acknowledged again after fault ${round}`, 15_000);
    alive();
  }

  // A failover-like gap: connections refused while the load keeps coming, until both kinds of
  // caller have been refused a good number of times (the gap is measured in requests, not seconds).
  await proxy.refuse();
  const before = { ...refused };
  await eventually(async () => (await readyz()) === 503, "/readyz to say the store is gone", 15_000);
  await eventually(
    () => refused.oicp >= before.oicp + 25 && refused.graphql >= before.graphql + 25,
    "25 OICP messages and 25 mutations refused during the gap",
    30_000,
  );
  expect(await healthz()).toBe(200); // alive, just not ready
  const during = await fetch(gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
    body: JSON.stringify({ query: "{ chargingSessions(first: 1) { nodes { id } } }" }),
  });
  const duringBody = (await during.json()) as { errors: Array<{ message: string; extensions: { code: string; retryable?: boolean } }> };
  expect(duringBody.errors[0]!.extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE", retryable: true });
  expect(during.status).toBe(503);
  await proxy.accept();
  await eventually(async () => (await readyz()) === 200, "/readyz to recover", 20_000);
  const after = acknowledged.length;
  await eventually(() => acknowledged.length > after + 3, "messages acknowledged after the gap", 15_000);

  running = false;
  await Promise.all([oicpLoad, graphqlLoad]);
  alive();

  // Nothing acknowledged is lost: every acknowledged CDR and every session a mutation named is stored.
  const stored = await adminQuery<{ id: string }>(`select hubject_session_id as id from "${schema.schema}".inbound_messages`);
  const storedIds = new Set(stored.map((r) => r.id));
  expect(acknowledged.filter((id) => !storedIds.has(id))).toEqual([]);
  const rows = await adminQuery<{ id: string }>(`select id from "${schema.schema}".charging_sessions`);
  const rowIds = new Set(rows.map((r) => r.id));
  expect(sessions.filter((id) => !rowIds.has(id))).toEqual([]);
  // What drivers saw while the store was gone: the retryable error, never an internal one.
  for (const error of driverErrors) expect(error).toMatch(/^(SERVICE_UNAVAILABLE|RATE_LIMITED):/);
}, 120_000);
