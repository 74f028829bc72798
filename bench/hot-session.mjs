// HOT SESSION workload (issue 12): one driver holds the most subscriptions the gateway allows
// (SUBSCRIPTION_MAX_PER_DRIVER, 50 by default: 3 sockets of 20/20/10), all watching one charging
// session that gets OICP Progress notifications RATE times a second. Meanwhile another driver
// reads their sessions (chargingSessions(first: 20), one request after another); the figure is that
// driver's p99 latency with the hot session busy, against the same with it quiet (the same
// subscriptions open, no notifications), measured in the same run: idle and hot phases
// interleave for ROUNDS rounds, and the ratio is of the medians (each round's ratio shown too).
//
// A second stage repeats it with the limits lifted to the red team's figure (5,000 subscriptions
// on one session, issue 12), at a lower rate: what the fair, sliced fan-out does when nothing caps
// a topic.
//
// The other driver's requests run in a child process of their own (same load core), so that the
// subscribers' messages arriving in this process do not delay the measuring clock.
// Speed targets live here, never in timed tests.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import {
  cpuSeconds,
  databaseUrlFor,
  driverToken,
  emitResult,
  evcoFor,
  HAS_TASKSET,
  HOST,
  LOAD_CORE,
  ROOT,
  round,
  sleep,
  startGateway,
  stopChild,
  storeKind,
  summarize,
  until,
  workload,
} from "./lib.mjs";

const NOTIFY_PATH = "/api/oicp/notificationmgmt/v11/charging-notifications";
const READ = `query { chargingSessions(first: 20) { nodes { id status consumedEnergyKwh } } }`;
const ROUNDS = Number(process.env.BENCH_HOT_ROUNDS ?? 3);
const PHASE_S = Number(process.env.BENCH_HOT_PHASE_S ?? 8);
/** The other driver's requests a second (an app polling hard; far more than one driver sends). */
const PROBE_RATE = Number(process.env.BENCH_HOT_PROBE_RATE ?? 200);
const STAGES = [
  {
    // The control: the same notifications with one subscription, to tell the fan-out's share of
    // the hot p99 from that of handling the notifications themselves (parse, store, state machine).
    key: "control",
    name: "control: notifications only",
    subscriptions: 1,
    perSocket: 1,
    rate: Number(process.env.BENCH_HOT_RATE ?? 50),
    env: {},
  },
  {
    key: "default",
    name: "default limits",
    subscriptions: 50,
    perSocket: 20,
    rate: Number(process.env.BENCH_HOT_RATE ?? 50),
    env: {},
  },
  {
    key: "redteam",
    name: "limits lifted (red team)",
    subscriptions: 5000,
    perSocket: 500,
    rate: Number(process.env.BENCH_HOT_REDTEAM_RATE ?? 2),
    env: { SUBSCRIPTION_MAX_PER_SOCKET: "5000", SUBSCRIPTION_MAX_PER_DRIVER: "5000" },
  },
].filter((s) => !process.env.BENCH_HOT_STAGES || process.env.BENCH_HOT_STAGES.split(",").includes(s.key)); // e.g. BENCH_HOT_STAGES=default

// ---------------------------------------------------------------------------------------------
// The probe (child process): `node bench/hot-session.mjs --probe <url> <token> <ms>` sends the
// read PROBE_RATE times a second for <ms> and prints the latencies' summary as one JSON line.

if (process.argv[2] === "--probe") {
  const [url, token, ms] = process.argv.slice(3);
  // Open loop: a request every 1000/PROBE_RATE ms whatever the answers, so that a stall of the
  // gateway shows in every request sent during it (a closed loop would send one and wait).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const body = JSON.stringify({ query: READ });
  const once = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ ok: res.statusCode === 200, ms: performance.now() - t0 }));
        },
      );
      req.on("error", () => resolve({ ok: false, ms: performance.now() - t0 }));
      req.end(body);
    });
  for (let i = 0; i < 50; i++) await once(); // warm-up: connections, JIT
  // This process's own delays (waiting for the load core): they would show as latency too.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const latencies = [];
  let failures = 0;
  const pending = [];
  const gap = 1000 / PROBE_RATE;
  const start = performance.now();
  for (let k = 0; start + k * gap < start + Number(ms); k++) {
    const wait = start + k * gap - performance.now();
    if (wait >= 1) await sleep(wait);
    pending.push(
      once().then((r) => {
        if (r.ok) latencies.push(r.ms);
        else failures++;
      }),
    );
  }
  await Promise.all(pending);
  delay.disable();
  agent.destroy();
  const s = summarize(latencies);
  const own = { p99Ms: round(delay.percentile(99) / 1e6, 1), maxMs: round(delay.max / 1e6, 1) };
  process.stdout.write(`${JSON.stringify({ n: s.n, failures, p50: s.p50, p99: s.p99, max: s.max, own })}\n`);
  process.exit(0);
}

function probe(url, token, ms) {
  const script = fileURLToPath(import.meta.url);
  const args = [script, "--probe", url, token, String(ms)];
  const child = HAS_TASKSET
    ? spawn("taskset", ["-c", LOAD_CORE, process.execPath, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  return new Promise((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1))) : reject(new Error(`probe exited ${code}`)),
    ),
  );
}

// ---------------------------------------------------------------------------------------------

const { tmp, children, run } = workload("hot-session", { hardLimitMs: 8 * 60_000 });
const timestamp = (d) => d.toISOString().replace("Z", "+00:00");

/**
 * From the gateway's /metrics: its event-loop delay since the previous scrape (prom-client resets
 * it on every scrape), and its garbage collection so far (count, seconds, pauses of at most 100 ms).
 */
async function gatewayMetrics(metricsUrl) {
  const text = await (await fetch(metricsUrl)).text();
  const lag = (name) =>
    Number(new RegExp(`^gateway_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  const gc = { count: 0, seconds: 0, le100ms: 0 };
  for (const line of text.split("\n")) {
    const m = /^gateway_nodejs_gc_duration_seconds_(sum|count|bucket)\{([^}]*)\} ([\d.e+-]+)$/.exec(line);
    if (!m) continue;
    if (m[1] === "sum") gc.seconds += Number(m[3]);
    else if (m[1] === "count") gc.count += Number(m[3]);
    else if (/le="0\.1"/.test(m[2])) gc.le100ms += Number(m[3]);
  }
  return { eventLoopDelay: { p99Ms: round(lag("p99") * 1000, 1), maxMs: round(lag("max") * 1000, 1) }, gc };
}

async function openSubscriptions(metricsUrl) {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^gateway_open_subscriptions ([\d.e+-]+)$/m.exec(text)?.[1] ?? NaN);
}

function post(oicpPort, agent, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `http://${HOST}:${oicpPort}${NOTIFY_PATH}`,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
    req.end(data);
  });
}

/**
 * One graphql-transport-ws socket carrying `count` subscriptions, kept as cheap as can be for the
 * load process (raw frames, no JSON parsing of events: 10,000 a second must not starve the probe
 * on the same core). Resolves once the server acknowledged the connection and the subscribes went out.
 */
function subscriptions(port, token, count, variables, counters) {
  const socket = new WebSocket(`ws://${HOST}:${port}/graphql`, "graphql-transport-ws", { skipUTF8Validation: true });
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
    let acknowledged = false;
    socket.on("message", (data) => {
      if (acknowledged) {
        // {"id":"…","type":"next",…}: anything else (an error) is counted as a refusal.
        if (data.includes('"type":"next"')) counters.received++;
        else counters.other++;
        return;
      }
      acknowledged = true;
      const query = `subscription($id: ID) { sessionUpdated(sessionId: $id) { id status consumedEnergyKwh } }`;
      for (let i = 0; i < count; i++) socket.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query, variables } }));
      resolve(socket);
    });
    socket.on("close", (code) => (acknowledged ? undefined : reject(new Error(`socket closed: ${code}`))));
  });
}

async function stage(spec, index) {
  const clients = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let gateway;
  try {
    const spawned = await startGateway(children, {
      DATABASE_URL: databaseUrlFor(tmp, `hot_${index}`),
      METRICS_ENABLED: "true",
      ...spec.env,
    });
    gateway = spawned.child;
    const { port, oicpPort, url, metricsUrl } = spawned;
    const [hotToken, otherToken] = await Promise.all([driverToken("hot-driver", [evcoFor(1)]), driverToken("other-driver", [evcoFor(2)])]);

    // A charger-started session for each driver (an OICP Start with their contract), once the
    // gateway knows whose contract it is (it learns it from the driver's first request).
    const started = new Date(Date.now() - 60_000);
    const sessionOf = (n) => ({
      SessionID: randomUUID(),
      Identification: { RemoteIdentification: { EvcoID: evcoFor(n) } },
      EvseID: `DE*BEN*E${100000 + n}*1`,
      SessionStart: timestamp(started),
      ChargingStart: timestamp(started),
      MeterValueStart: 0,
    });
    // A Start for a contract the gateway does not know yet is kept aside: each attempt is a new session.
    const chargerSession = async (token, n) => {
      let id;
      let wire;
      const found = await until(
        async () => {
          wire = sessionOf(n);
          await post(oicpPort, agent, { Type: "Start", ...wire, EventOccurred: timestamp(started) });
          const res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: `{ chargingSessions(first: 1) { nodes { id hubjectSessionId } } }` }),
          });
          id = (await res.json()).data?.chargingSessions?.nodes?.find((s) => s.hubjectSessionId === wire.SessionID)?.id;
          return id;
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      if (!found) throw new Error("the charger-started session never appeared");
      return { id, wire };
    };
    const { id: hotId, wire: hotWire } = await chargerSession(hotToken, 1);
    await chargerSession(otherToken, 2);

    // The hot driver's subscriptions, all on the hot session.
    const counters = { received: 0, other: 0 };
    const sockets = Math.ceil(spec.subscriptions / spec.perSocket);
    for (let s = 0; s < sockets; s++) {
      const count = Math.min(spec.perSocket, spec.subscriptions - s * spec.perSocket);
      clients.push(await subscriptions(port, hotToken, count, { id: hotId }, counters));
    }
    const allOpen = await until(async () => (await openSubscriptions(metricsUrl)) >= spec.subscriptions, { timeoutMs: 30_000 });
    if (!allOpen || counters.other > 0)
      throw new Error(`only ${await openSubscriptions(metricsUrl)} subscriptions open, ${counters.other} refused`);
    process.stderr.write(`hot-session: ${spec.name}: ${spec.subscriptions} subscriptions on one session … `);

    // The hot session's notifications: `rate` a second, spread evenly, energy rising by 1 each.
    let kwh = 0;
    let posted = 0;
    let postFailures = 0;
    // One at a time: two in flight could be applied out of order, and the older one (lower
    // energy) is rightly dropped by the state machine, which would leave an expected event out.
    const notify = async (running) => {
      const gap = 1000 / spec.rate;
      let due = performance.now();
      while (running()) {
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        due += gap;
        kwh += 1;
        const at = new Date(started.getTime() + 1000 + kwh * 10);
        const ok = await post(oicpPort, agent, {
          Type: "Progress",
          ...hotWire,
          EventOccurred: timestamp(at),
          ChargingDuration: at.getTime() - started.getTime(),
          ConsumedEnergyProgress: kwh,
        });
        if (ok) posted++;
        else postFailures++;
      }
    };

    const rounds = [];
    for (let r = -1; r < ROUNDS; r++) {
      const row = {};
      // Round -1 warms up (the JIT, the store's caches) with both phases, and is not reported.
      for (const phase of ["idle", "hot"]) {
        const metrics0 = await gatewayMetrics(metricsUrl); // and resets the event-loop histogram
        const cpu0 = cpuSeconds(gateway.pid);
        const loadCpu0 = cpuSeconds(process.pid);
        const received0 = counters.received;
        const posted0 = posted;
        const t0 = performance.now();
        const ms = PHASE_S * 1000;
        // Notifications from before the probe's first request (it starts a process and warms up)
        // to after its last; then every event they caused is delivered before the next phase.
        let probing = true;
        const notifying = phase === "hot" ? notify(() => probing) : Promise.resolve();
        const latency = await probe(url, otherToken, r < 0 ? Math.min(ms, 3_000) : ms).finally(() => (probing = false));
        await notifying;
        const drained = await until(() => counters.received >= posted * spec.subscriptions, { timeoutMs: 30_000, intervalMs: 20 });
        if (!drained) throw new Error(`events still missing after 30 s: ${posted * spec.subscriptions - counters.received}`);
        const wallS = (performance.now() - t0) / 1000;
        row[phase] = {
          requests: latency.n,
          failures: latency.failures,
          p50Ms: round(latency.p50),
          p99Ms: round(latency.p99),
          maxMs: round(latency.max),
          notifications: posted - posted0,
          eventsReceived: counters.received - received0,
          gatewayCpuPercent: round(((cpuSeconds(gateway.pid) - cpu0) / wallS) * 100, 0),
          ...(await gatewayMetrics(metricsUrl).then((m) => ({
            gatewayEventLoopDelayMs: m.eventLoopDelay,
            gatewayGc: {
              pauses: m.gc.count - metrics0.gc.count,
              totalMs: round((m.gc.seconds - metrics0.gc.seconds) * 1000, 0),
              over100ms: m.gc.count - metrics0.gc.count - (m.gc.le100ms - metrics0.gc.le100ms),
            },
          }))),
          loadProcessCpuPercent: round(((cpuSeconds(process.pid) - loadCpu0) / wallS) * 100, 0),
          probeEventLoopDelayMs: latency.own,
        };
      }
      if (r < 0) continue;
      row.ratio = round(row.hot.p99Ms / row.idle.p99Ms, 2);
      rounds.push(row);
      process.stderr.write(`round ${r + 1}: idle p99 ${row.idle.p99Ms} ms, hot p99 ${row.hot.p99Ms} ms (×${row.ratio}) … `);
    }
    // Every notification's event reaches every subscription: wait for the stragglers, then count.
    const expected = posted * spec.subscriptions;
    await until(() => counters.received >= expected, { timeoutMs: 10_000, intervalMs: 50 });
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const idleP99 = median(rounds.map((r) => r.idle.p99Ms));
    const hotP99 = median(rounds.map((r) => r.hot.p99Ms));
    const result = {
      stage: spec.name,
      subscriptions: spec.subscriptions,
      sockets,
      notificationsPerSecond: spec.rate,
      eventsPerSecondToDeliver: spec.rate * spec.subscriptions,
      rounds,
      idleP99Ms: idleP99,
      hotP99Ms: hotP99,
      ratio: round(hotP99 / idleP99, 2),
      notificationsPosted: posted,
      postFailures,
      eventsExpected: expected,
      eventsReceived: counters.received,
    };
    process.stderr.write(`median p99 idle ${idleP99} ms, hot ${hotP99} ms: ×${result.ratio}\n`);
    return result;
  } finally {
    for (const socket of clients) socket.terminate();
    agent.destroy();
    await stopChild(gateway);
  }
}

await run(async () => {
  const rows = [];
  for (const [i, spec] of STAGES.entries()) rows.push(await stage(spec, i));
  emitResult({
    workload: "hot-session",
    settings: {
      store: storeKind(),
      rounds: ROUNDS,
      phaseS: PHASE_S,
      read: "chargingSessions(first: 20)",
      probeRequestsPerSecond: PROBE_RATE,
    },
    rows,
    targets: rows
      .filter((row) => row.subscriptions === 50)
      .map((row) => ({
        target: `HOT SESSION (${row.subscriptions} subscriptions on one session, ${row.notificationsPerSecond} notifications/s): another driver's p99 within 2× of idle`,
        value: `×${row.ratio} (idle ${row.idleP99Ms} ms, hot ${row.hotP99Ms} ms; rounds ${row.rounds.map((r) => `×${r.ratio}`).join(", ")})`,
        met: row.ratio <= 2,
      })),
  });
});
