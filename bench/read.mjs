// READ workload: an authenticated chargingSessions(first: 20) for a driver with 20 stored sessions,
// against the gateway (dist/src/main.js, as `npm start` runs it) and the baselines.
// Run pinned to the load core by run.mjs; servers are pinned to the server core.

import { writeFileSync } from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import {
  driverToken,
  emitResult,
  evcoFor,
  freePort,
  gql,
  HOST,
  memoryOf,
  round,
  SERVER_CORE,
  spawnNode,
  startGateway,
  waitForHttp,
  workload,
} from "./lib.mjs";

const DURATION_S = Number(process.env.BENCH_READ_DURATION_S ?? 5);
const WARMUP_S = Number(process.env.BENCH_READ_WARMUP_S ?? 3);
// The machine is shared and drifts: every server is measured ROUNDS times, interleaved (each
// round visits all servers, in a rotated order), and each figure is the median of its rounds.
const ROUNDS = Number(process.env.BENCH_READ_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_READ_CONNECTIONS ?? 100);
const SESSIONS = 20;
// Profiling: BENCH_CPU_PROF_DIR=dir writes the gateway's V8 CPU profile there (node --cpu-prof);
// BENCH_READ_GATEWAY_ONLY=1 skips the baselines (see bench/profile-summary.mjs).
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
const GATEWAY_ONLY = process.env.BENCH_READ_GATEWAY_ONLY === "1";

const QUERY = `query Sessions { chargingSessions(first: 20) { nodes { id status evseId evcoId requestedAt consumedEnergyKwh } pageInfo { hasNextPage endCursor } } }`;
const START = `mutation Start($input: StartChargingInput!) { startCharging(input: $input) { session { id status } error { __typename } } }`;

// The whole workload must end by itself: a hard stop after 4 minutes.
const { tmp, children, run } = workload("read", { hardLimitMs: 4 * 60_000 });

function cannon(url, headers, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query: QUERY }),
        connections: CONNECTIONS,
        duration,
        timeout: 10,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

/** Checks that a server answers the same data as the gateway, then warms it up. */
async function prepare(server) {
  const check = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...server.headers },
    body: JSON.stringify({ query: QUERY }),
  });
  const checkBody = await check.json();
  const nodes = checkBody?.data?.chargingSessions?.nodes ?? [];
  if (nodes.length !== SESSIONS)
    throw new Error(`${server.name}: expected ${SESSIONS} sessions, got ${JSON.stringify(checkBody).slice(0, 300)}`);
  if (server.expected && JSON.stringify(checkBody.data) !== JSON.stringify(server.expected))
    throw new Error(`${server.name}: answered different data than the gateway`);
  process.stderr.write(`read: ${server.name}: checked, warm-up ${WARMUP_S}s\n`);
  await cannon(server.url, server.headers, WARMUP_S);
}

async function sample(server, roundNo) {
  const r = await cannon(server.url, server.headers, DURATION_S);
  const s = {
    reqPerSec: round(r.requests.average, 0),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    responseBytes: round(r.throughput.total / Math.max(1, r.requests.total), 0),
  };
  process.stderr.write(`read: round ${roundNo}: ${server.name}: ${s.reqPerSec} req/s, p99 ${s.p99Ms} ms\n`);
  return s;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function rowOf(server) {
  const samples = server.samples;
  const sum = (key) => samples.reduce((a, x) => a + x[key], 0);
  const mem = memoryOf(server.pid);
  return {
    server: server.name,
    rounds: samples.length,
    reqPerSecRounds: samples.map((x) => x.reqPerSec),
    reqPerSec: round(median(samples.map((x) => x.reqPerSec)), 0),
    p50Ms: median(samples.map((x) => x.p50Ms)),
    p99Ms: median(samples.map((x) => x.p99Ms)),
    p99MsRounds: samples.map((x) => x.p99Ms),
    maxMs: Math.max(...samples.map((x) => x.maxMs)),
    requests: sum("requests"),
    non2xx: sum("non2xx"),
    errors: sum("errors"),
    timeouts: sum("timeouts"),
    responseBytes: samples[0]?.responseBytes,
    serverPeakRssMiB: round(mem.hwmMiB, 1),
  };
}

await run(async () => {
  // (a) The gateway as `npm start` runs it, on a temp SQLite file.
  const { child: gateway, url } = await startGateway(children, {
    DATABASE_URL: path.join(tmp, "gateway.sqlite"),
    METRICS_ENABLED: "true",
  });

  // Seed 20 sessions through the gateway's own startCharging against its built-in simulator:
  // unknown EvseIDs are refused at once (603) and the refused session is stored.
  const evco = evcoFor(1);
  const token = await driverToken("bench-driver-read", [evco]);
  for (let i = 0; i < SESSIONS; i++) {
    const r = await gql(url, START, { input: { evseId: `DE*SIM*E9${String(i).padStart(3, "0")}*1`, evcoId: evco } }, token);
    if (!r.body?.data?.startCharging?.session?.id) throw new Error(`seeding failed: ${JSON.stringify(r.body).slice(0, 500)}`);
  }
  const auth = { authorization: `Bearer ${token}` };
  const seeded = await gql(url, QUERY, undefined, token);
  const data = seeded.body.data;
  const dataFile = path.join(tmp, "data.json");
  writeFileSync(dataFile, JSON.stringify(data));

  // (b)–(e) the baselines, all started now on the same core (an idle server costs no CPU).
  const servers = [{ name: "gateway (dist/src/main.js)", url, headers: auth, pid: gateway.pid, expected: null, samples: [] }];
  const baselines = GATEWAY_ONLY
    ? []
    : [
        ["apollo", "@apollo/server 5 default (startStandaloneServer)", "/"],
        ["yoga", "graphql-yoga 5 default", "/graphql"],
        ["jit", "graphql-jit on node:http", "/graphql"],
        ["raw", "precomputed bytes on node:http (ceiling)", "/graphql"],
      ];
  for (const [kind, label, urlPath] of baselines) {
    const p = await freePort();
    const child = spawnNode(["bench/servers/baseline.mjs", kind, String(p), dataFile], { core: SERVER_CORE });
    children.push(child);
    await waitForHttp(`http://${HOST}:${p}/healthz`, { child });
    servers.push({ name: label, url: `http://${HOST}:${p}${urlPath}`, headers: {}, pid: child.pid, expected: data, samples: [] });
  }
  for (const server of servers) await prepare(server);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < servers.length; k++) {
      const server = servers[(k + r) % servers.length];
      server.samples.push(await sample(server, r + 1));
    }
  }
  const rows = servers.map(rowOf);
  const ratioRounds = (other) => servers[0].samples.map((x, i) => round(x.reqPerSec / other.samples[i].reqPerSec, 2));

  const [gw, apollo, yoga] = rows;
  const ratios = GATEWAY_ONLY
    ? {}
    : {
        gatewayOverApolloDefault: round(gw.reqPerSec / apollo.reqPerSec, 2),
        gatewayOverYoga: round(gw.reqPerSec / yoga.reqPerSec, 2),
        // Per round (the same round's samples, minutes apart at most): the spread the noise gives.
        gatewayOverApolloDefaultRounds: ratioRounds(servers[1]),
        gatewayOverYogaRounds: ratioRounds(servers[2]),
      };
  const targets = GATEWAY_ONLY
    ? []
    : [
        {
          target: "READ: gateway ≥ 1.3× default Apollo (req/s)",
          value: `${ratios.gatewayOverApolloDefault}×`,
          met: ratios.gatewayOverApolloDefault >= 1.3,
        },
        { target: "READ: gateway ≥ Yoga (req/s)", value: `${ratios.gatewayOverYoga}×`, met: ratios.gatewayOverYoga >= 1 },
        { target: "READ: gateway p99 < 25 ms", value: `${gw.p99Ms} ms`, met: gw.p99Ms < 25 },
      ];
  emitResult({
    workload: "read",
    settings: {
      connections: CONNECTIONS,
      warmupS: WARMUP_S,
      durationS: DURATION_S,
      rounds: ROUNDS,
      gatewayOnly: GATEWAY_ONLY,
      profiled: Boolean(CPU_PROF_DIR),
      sessions: SESSIONS,
      query: QUERY,
      responseBytes: Buffer.byteLength(JSON.stringify({ data })),
    },
    rows,
    ratios,
    targets,
  });
});
