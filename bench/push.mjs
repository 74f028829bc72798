// PUSH workload: N graphql-ws clients (one driver each) subscribed to sessionUpdated (all of the
// driver's sessions). Each driver gets one charger-started session (an OICP Start notification with
// the driver's EvcoID), then the bench posts OICP Progress notifications to the gateway's OICP
// listener at RATE a second (sessions in turn, spread evenly over each second) for DURATION_S, and
// measures POST sent → event received at the client. Issue 7's figure: 10,000 subscribers, 500/s
// for 30 s. The load process (this one) is pinned to the load core.

import { randomUUID } from "node:crypto";
import http from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  coreTimes,
  cpuSeconds,
  databaseUrlFor,
  driverToken,
  emitResult,
  evcoFor,
  HOST,
  memoryOf,
  round,
  SERVER_CORE,
  sleep,
  startGateway,
  stopChild,
  storeKind,
  summarize,
  until,
  workload,
} from "./lib.mjs";

const SIZES = (process.env.BENCH_PUSH_SIZES ?? "10000").split(",").map(Number);
const RATE = Number(process.env.BENCH_PUSH_RATE ?? 500);
const DURATION_S = Number(process.env.BENCH_PUSH_DURATION_S ?? 30);
const DRAIN_MS = 3000; // at most: the drain ends once every event has arrived
const POST_CONCURRENCY = 64;
const NOTIFY_PATH = "/api/oicp/notificationmgmt/v11/charging-notifications";
const SUBSCRIPTION = `subscription { sessionUpdated { id status consumedEnergyKwh } }`;

const { tmp, children, run } = workload("push", { hardLimitMs: 260_000 });
const deadline = Date.now() + 220_000; // every stage checks this; run.mjs kills us at 270 s

const timestamp = (d) => d.toISOString().replace("Z", "+00:00");

/**
 * From the gateway's /metrics: its GC pauses so far by kind (prom-client's
 * nodejs_gc_duration_seconds: total seconds, count, how many took at most 100 ms), and its
 * event-loop delay since the previous scrape (prom-client resets that histogram on every scrape).
 */
async function gatewayMetrics(metricsUrl) {
  const text = await (await fetch(metricsUrl)).text();
  const lag = (name) =>
    Number(new RegExp(`^gateway_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, "m").exec(text)?.[1] ?? NaN);
  const eventLoopDelay = { p99Ms: round(lag("p99") * 1000, 1), maxMs: round(lag("max") * 1000, 1) };
  const gc = {};
  for (const line of text.split("\n")) {
    const m = /^gateway_nodejs_gc_duration_seconds_(sum|count|bucket)\{([^}]*)\} ([\d.e+-]+)$/.exec(line);
    if (!m) continue;
    const kind = /kind="([^"]+)"/.exec(m[2])?.[1] ?? "?";
    gc[kind] ??= { seconds: 0, count: 0, le100ms: 0 };
    const k = gc[kind];
    if (m[1] === "sum") k.seconds = Number(m[3]);
    else if (m[1] === "count") k.count = Number(m[3]);
    else if (/le="0\.1"/.test(m[2])) k.le100ms = Number(m[3]);
  }
  return { gc, eventLoopDelay };
}

/** The gateway's open sessionUpdated subscriptions, from its /metrics. */
async function openSubscriptions(metricsUrl) {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^gateway_open_subscriptions ([\d.e+-]+)$/m.exec(text)?.[1] ?? NaN);
}

function gcDelta(before, after) {
  const out = {};
  for (const [kind, a] of Object.entries(after)) {
    const b = before[kind] ?? { seconds: 0, count: 0, le100ms: 0 };
    const count = a.count - b.count;
    if (count <= 0) continue;
    out[kind] = { pauses: count, totalMs: round((a.seconds - b.seconds) * 1000, 0), over100ms: count - (a.le100ms - b.le100ms) };
  }
  return out;
}

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function stage(n) {
  const clients = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: POST_CONCURRENCY });
  let gateway;
  try {
    const spawned = await startGateway(children, {
      DATABASE_URL: databaseUrlFor(tmp, `push_${n}`),
      // For its garbage-collection histogram (read before and after the posting window) and its
      // count of open subscriptions.
      METRICS_ENABLED: "true",
    });
    gateway = spawned.child;
    const { port, oicpPort, metricsUrl } = spawned;
    const rssIdle = memoryOf(gateway.pid).rssMiB;
    const tokens = await Promise.all(Array.from({ length: n }, (_, i) => driverToken(`push-${i}`, [evcoFor(i + 1)])));

    // Receipts: driver i, energy value k → receive time.
    const received = Array.from({ length: n }, () => new Map());
    const seenAny = new Set();
    let subscribed = 0;
    let subscribeErrors = 0;
    process.stderr.write(`push: ${n}: connecting ${n} graphql-ws clients … `);
    await pool(n, 200, async (i) => {
      if (Date.now() > deadline) return;
      const client = createClient({
        url: `ws://${HOST}:${port}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${tokens[i]}` },
        lazy: false,
        retryAttempts: 0,
        keepAlive: 0,
      });
      clients.push(client);
      await new Promise((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          resolve();
        };
        client.on("connected", () => {
          client.subscribe(
            { query: SUBSCRIPTION },
            {
              next: (msg) => {
                seenAny.add(i);
                const kwh = msg?.data?.sessionUpdated?.consumedEnergyKwh;
                if (typeof kwh === "number" && !received[i].has(kwh)) received[i].set(kwh, performance.now());
              },
              error: () => subscribeErrors++,
              complete: () => undefined,
            },
          );
          subscribed++;
          // give the subscribe message a moment to be registered before the next batch
          setTimeout(finish, 0);
        });
        client.on("closed", finish);
        client.on("error", () => {
          subscribeErrors++;
          finish();
        });
        setTimeout(finish, 10_000);
      });
    });
    // Every subscription the clients sent is open at the gateway (or 10 s passed).
    await until(async () => (await openSubscriptions(metricsUrl)) >= subscribed, { timeoutMs: 10_000, intervalMs: 100 });
    const rssWithClients = memoryOf(gateway.pid).rssMiB;
    process.stderr.write(
      `${subscribed} connected (${subscribeErrors} errors); RSS ${round(rssIdle, 1)} → ${round(rssWithClients, 1)} MiB … `,
    );

    const post = (body) =>
      new Promise((resolve) => {
        const data = JSON.stringify(body);
        const t0 = performance.now();
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
            res.on("end", () => resolve({ ok: res.statusCode === 200, t0, why: `HTTP ${res.statusCode}` }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (error) => resolve({ ok: false, t0, why: error.message }));
        req.end(data);
      });

    // One charger-started session per driver (Start notification with the driver's contract).
    const sessionIds = Array.from({ length: n }, () => randomUUID());
    const evseFor = (i) => `DE*BEN*E${String(100000 + i)}*1`;
    const started = new Date(Date.now() - 60_000);
    const base = (i) => ({
      SessionID: sessionIds[i],
      Identification: { RemoteIdentification: { EvcoID: evcoFor(i + 1) } },
      EvseID: evseFor(i),
      SessionStart: timestamp(started),
      ChargingStart: timestamp(started),
      MeterValueStart: 0,
    });
    let startsOk = 0;
    await pool(n, POST_CONCURRENCY, async (i) => {
      if (Date.now() > deadline) return;
      const r = await post({ Type: "Start", ...base(i), EventOccurred: timestamp(started) });
      if (r.ok) startsOk++;
    });
    // Every acknowledged Start has reached its driver's client (or 10 s passed).
    await until(() => seenAny.size >= startsOk, { timeoutMs: 10_000 });
    const sessionsSeen = seenAny.size;
    for (const m of received) m.clear();
    process.stderr.write(`${startsOk} Start notifications acknowledged, ${sessionsSeen} seen by clients … `);

    // Progress: RATE posts a second, sessions in turn; each post raises its session's energy by 1.
    const sent = []; // { i, kwh, t0 }
    let postFailures = 0;
    const failureReasons = {};
    const kwhOf = new Array(n).fill(0);
    let cursor = 0;
    const metrics0 = await gatewayMetrics(metricsUrl);
    const core0 = coreTimes(SERVER_CORE);
    const cpu0 = cpuSeconds(gateway.pid);
    // This (load) process's own event-loop delay: its stalls would show as latency too.
    const loadDelay = monitorEventLoopDelay({ resolution: 10 });
    loadDelay.enable();
    const wall0 = performance.now();
    const tickCount = DURATION_S;
    let ticksDone = 0;
    for (let k = 0; k < tickCount && Date.now() < deadline; k++) {
      const tickStart = performance.now();
      const batch = Array.from({ length: RATE }, () => {
        const i = cursor;
        cursor = (cursor + 1) % n;
        kwhOf[i] += 1;
        return { i, kwh: kwhOf[i] };
      });
      await pool(batch.length, POST_CONCURRENCY, async (m) => {
        const { i, kwh } = batch[m];
        // Spread the second's posts evenly over it.
        const due = tickStart + (m * 1000) / RATE;
        const wait = due - performance.now();
        if (wait >= 1) await sleep(wait);
        const at = new Date(started.getTime() + 1000 + k * 1000 + m);
        const r = await post({
          Type: "Progress",
          ...base(i),
          EventOccurred: timestamp(at),
          ChargingDuration: at.getTime() - started.getTime(),
          ConsumedEnergyProgress: kwh,
        });
        if (r.ok) sent.push({ i, kwh, t0: r.t0 });
        else {
          postFailures++;
          failureReasons[r.why] = (failureReasons[r.why] ?? 0) + 1;
        }
      });
      ticksDone++;
      const rest = 1000 - (performance.now() - tickStart);
      if (rest > 0) await sleep(rest);
    }
    const postWallS = (performance.now() - wall0) / 1000;
    // The drain: until every event sent has arrived, DRAIN_MS at most (what has not is lost).
    await until(() => sent.every((s) => received[s.i].has(s.kwh)), { timeoutMs: DRAIN_MS, intervalMs: 50 });
    const cpu1 = cpuSeconds(gateway.pid);
    const metrics1 = await gatewayMetrics(metricsUrl);
    const core1 = coreTimes(SERVER_CORE);
    loadDelay.disable();
    const wallS = (performance.now() - wall0) / 1000;

    const latencies = [];
    let lost = 0;
    for (const s of sent) {
      const t = received[s.i].get(s.kwh);
      if (t === undefined) lost++;
      else latencies.push(t - s.t0);
    }
    const l = summarize(latencies);
    const row = {
      subscribers: n,
      connected: subscribed,
      subscribeErrors,
      targetPostsPerSecond: RATE,
      postsPerSecond: round(sent.length / postWallS, 0),
      durationS: round(postWallS, 1),
      ticks: ticksDone,
      sent: sent.length,
      postFailures,
      failureReasons,
      received: latencies.length,
      lost,
      latencyMs: { p50: round(l.p50), p99: round(l.p99), max: round(l.max) },
      rssIdleMiB: round(rssIdle, 1),
      rssWithClientsMiB: round(rssWithClients, 1),
      kibPerSubscriber: round(((rssWithClients - rssIdle) * 1024) / Math.max(1, subscribed), 1),
      gatewayPeakRssMiB: round(memoryOf(gateway.pid).hwmMiB, 1),
      gatewayCpuPercent: round(((cpu1 - cpu0) / wallS) * 100, 0),
      // Garbage collection during the posting window and drain, from the gateway's own metrics.
      gc: gcDelta(metrics0.gc, metrics1.gc),
      gatewayEventLoopDelayMs: metrics1.eventLoopDelay,
      // The server core over the window: time stolen by the hypervisor, waiting for I/O, interrupts.
      serverCoreMs:
        core0 && core1
          ? Object.fromEntries(
              ["steal", "iowait", "irq", "softirq", "system", "user", "idle"].map((k) => [k, round(core1[k] - core0[k], 0)]),
            )
          : null,
      loadEventLoopDelayMs: { p99Ms: round(loadDelay.percentile(99) / 1e6, 1), maxMs: round(loadDelay.max / 1e6, 1) },
    };
    process.stderr.write(`${row.postsPerSecond} posts/s, p50 ${row.latencyMs.p50} ms p99 ${row.latencyMs.p99} ms, lost ${lost}\n`);
    return row;
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    agent.destroy();
    await stopChild(gateway);
  }
}

await run(async () => {
  const rows = [];
  for (const n of SIZES) {
    if (Date.now() > deadline - 60_000) {
      console.error(`push: skipping ${n} subscribers: not enough time left`);
      break;
    }
    const row = await stage(n);
    rows.push(row);
    // Only go bigger if this size coped: everything delivered at (nearly) the target rate.
    if (row.lost > 0 || row.postsPerSecond < 0.9 * RATE || row.connected < n) {
      console.error(`push: not trying more subscribers: ${n} did not cope (lost ${row.lost}, ${row.postsPerSecond}/${RATE} posts/s)`);
      break;
    }
  }
  const _first = rows[0];
  emitResult({
    workload: "push",
    settings: {
      store: storeKind(),
      sizes: SIZES,
      ratePerSecond: RATE,
      durationS: DURATION_S,
      drainMs: DRAIN_MS,
      postConcurrency: POST_CONCURRENCY,
    },
    rows,
    targets: rows.flatMap((row) => [
      {
        target: `PUSH (${row.subscribers} subscribers): no lost events`,
        value: `${row.lost} lost of ${row.sent}`,
        met: row.lost === 0 && row.sent > 0,
      },
      {
        target: `PUSH (${row.subscribers} subscribers): ${RATE} notifications/s sustained`,
        value: `${row.postsPerSecond}/s`,
        met: row.postsPerSecond >= 0.95 * RATE,
      },
      {
        target: `PUSH (${row.subscribers} subscribers): p99 POST → client < 25 ms`,
        value: `${row.latencyMs.p99} ms`,
        met: row.latencyMs.p99 < 25,
      },
      {
        target: `PUSH (${row.subscribers} subscribers): RSS per subscriber < 25 KB`,
        value: `${row.kibPerSubscriber} KiB`,
        met: row.kibPerSubscriber * 1.024 < 25,
      },
    ]),
  });
});
