// `npm run bench`: runs each workload in its own process pinned to the load core (the servers it
// starts are pinned to the server core), prints a table, writes bench/results/latest.json and
// bench/RESULTS.md. Every workload is bounded in count and time; no timed assertions.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BENCH, HAS_TASKSET, LOAD_CORE, ROOT, round, SERVER_CORE } from "./lib.mjs";

const WORKLOADS = [
  { name: "read", script: "bench/read.mjs", timeoutMs: 4 * 60_000 },
  { name: "storm", script: "bench/storm.mjs", timeoutMs: 3 * 60_000 },
  { name: "push", script: "bench/push.mjs", timeoutMs: 270_000, optional: true },
  { name: "hot-session", script: "bench/hot-session.mjs", timeoutMs: 8 * 60_000 },
  { name: "authorize", script: "bench/authorize.mjs", timeoutMs: 4 * 60_000 },
  { name: "search", script: "bench/search.mjs", timeoutMs: 6 * 60_000 },
];
const only = process.argv.slice(2);

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  return {
    cpuModel: model,
    cores: os.cpus().length,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    pinning: HAS_TASKSET
      ? `servers: taskset -c ${SERVER_CORE}; load generators: taskset -c ${LOAD_CORE}`
      : "taskset not found: processes are NOT pinned",
  };
}

function runWorkload({ name, script, timeoutMs }) {
  return new Promise((resolve) => {
    const args = [process.execPath, script];
    const child = HAS_TASKSET
      ? spawn("taskset", ["-c", LOAD_CORE, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] })
      : spawn(args[0], args.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d.toString()));
    const timer = setTimeout(() => {
      console.error(`${name}: exceeded ${timeoutMs / 1000} s, killing it`);
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (!line) return resolve({ workload: name, failed: `exit ${code ?? signal}; no result`, output: out.slice(-2000) });
      resolve(JSON.parse(line.slice("BENCH_RESULT ".length)));
    });
  });
}

function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? "–" : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(cells[0]), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.slice(1).map(line)].join("\n");
}

function render(results) {
  const parts = [];
  for (const r of results) {
    if (r.failed) {
      parts.push(`### ${r.workload}: FAILED (${r.failed})`);
      continue;
    }
    if (r.workload === "read") {
      const s = r.settings;
      parts.push(
        `### READ — chargingSessions(first: 20), ${s.connections} connections, ${s.warmupS} s warm-up, then ${s.rounds ?? 1} interleaved rounds of ${s.durationS} s per server (autocannon); figures are medians of the rounds; response ${s.responseBytes} bytes of JSON`,
        table(
          [
            "server",
            "req/s (median)",
            "req/s per round",
            "p50 ms",
            "p99 ms (median)",
            "p99 ms per round",
            "max ms",
            "non-2xx",
            "errors",
            "server peak RSS MiB",
          ],
          r.rows.map((x) => [
            x.server,
            x.reqPerSec,
            (x.reqPerSecRounds ?? []).join(" / "),
            x.p50Ms,
            x.p99Ms,
            (x.p99MsRounds ?? []).join(" / "),
            x.maxMs,
            x.non2xx,
            x.errors + x.timeouts,
            x.serverPeakRssMiB,
          ]),
        ),
        `gateway / apollo-default = ${r.ratios.gatewayOverApolloDefault}× (per round: ${(r.ratios.gatewayOverApolloDefaultRounds ?? []).join(", ")}); gateway / yoga = ${r.ratios.gatewayOverYoga}× (per round: ${(r.ratios.gatewayOverYogaRounds ?? []).join(", ")})`,
      );
    } else if (r.workload === "storm") {
      const s = r.settings;
      parts.push(
        `### START STORM — simulated Hubject answers every AuthorizeRemoteStart after ${s.answerDelayMs} ms; RATE_LIMIT_REMOTE_STARTS_PER_MINUTE=${s.limitPerMinute} (its maximum); one driver per request; unknown EvseIDs (Hubject answers 603 after the full delay)`,
        table(
          [
            "phase",
            "drivers",
            "admitted",
            "RATE_LIMITED",
            "other",
            "upstream calls",
            "added p50/p99 ms",
            "before/after upstream p99 ms",
            "upstream p50 ms",
            "refusal p50/p99 ms",
            "sockets opened/peak",
            "RSS idle→peak MiB",
          ],
          r.rows.map((x) => [
            x.phase,
            x.concurrentDrivers + (x.warmupStarts ? ` (+${x.warmupStarts} warm-up)` : ""),
            x.admitted,
            x.rateLimited,
            x.otherOutcomes,
            x.authorizeRemoteStartCallsAtSimulator,
            `${x.addedLatencyMs.p50} / ${x.addedLatencyMs.p99}`,
            `${x.addedBeforeUpstreamMs?.p99} / ${x.addedAfterUpstreamMs?.p99}`,
            x.upstreamMs.p50,
            x.rateLimited ? `${x.rateLimitedLatencyMs.p50} / ${x.rateLimitedLatencyMs.p99}` : "–",
            `${x.upstreamSocketsOpened} / ${x.upstreamSocketsPeakOpen}`,
            `${x.gatewayRssIdleMiB} → ${x.gatewayPeakRssMiB}`,
          ]),
        ),
      );
    } else if (r.workload === "push") {
      parts.push(
        `### PUSH — graphql-ws subscribers, OICP ChargingNotification Progress posts → client receipt`,
        table(
          [
            "store",
            "subscribers",
            "posts/s (target)",
            "duration s",
            "events sent",
            "received",
            "lost",
            "latency p50 ms",
            "p99 ms",
            "max ms",
            "RSS idle→with clients MiB",
            "KiB/subscriber",
            "gateway CPU %",
            "event-loop delay p99/max ms: gateway",
            "load process",
            "GC pauses (total ms, > 100 ms)",
            "server core iowait / stolen ms",
          ],
          r.rows.map((x) => [
            r.settings.store ?? "sqlite",
            x.subscribers,
            `${x.postsPerSecond} (${x.targetPostsPerSecond})`,
            x.durationS,
            x.sent,
            x.received,
            x.lost,
            x.latencyMs.p50,
            x.latencyMs.p99,
            x.latencyMs.max,
            `${x.rssIdleMiB} → ${x.rssWithClientsMiB}`,
            x.kibPerSubscriber,
            x.gatewayCpuPercent,
            x.gatewayEventLoopDelayMs ? `${x.gatewayEventLoopDelayMs.p99Ms} / ${x.gatewayEventLoopDelayMs.maxMs}` : null,
            x.loadEventLoopDelayMs ? `${x.loadEventLoopDelayMs.p99Ms} / ${x.loadEventLoopDelayMs.maxMs}` : null,
            x.gc
              ? Object.entries(x.gc)
                  .map(([kind, g]) => `${kind} ${g.pauses} (${g.totalMs} ms, ${g.over100ms})`)
                  .join("; ")
              : null,
            x.serverCoreMs ? `${x.serverCoreMs.iowait} / ${x.serverCoreMs.steal}` : null,
          ]),
        ),
      );
    } else if (r.workload === "authorize") {
      const s = r.settings;
      parts.push(
        `### AUTHORIZE — eRoamingAuthorizeStart at ${s.requestsPerSecond} requests/s (open loop, latency from each request's scheduled time), ${Math.round(s.foreignShare * 100)} % other EMPs' cards, the rest ours from a registry of ${s.registry} (each authorized creates a session); baseline: the same rate of unreadable requests (NotAuthorized 022, no store read); ${s.rounds} interleaved rounds of ${s.roundS} s`,
        table(
          ["round", "baseline p50 / p99 / max ms", "authorize p50 / p99 / max ms", "p99 ratio", "answers"],
          r.rounds.map((x, i) => [
            i + 1,
            `${x.baseline.p50Ms} / ${x.baseline.p99Ms} / ${x.baseline.maxMs}`,
            `${x.authorize.p50Ms} / ${x.authorize.p99Ms} / ${x.authorize.maxMs}`,
            `×${x.ratio}`,
            Object.entries(x.authorize.answers)
              .map(([k, n]) => `${k}: ${n}`)
              .join(", "),
          ]),
        ),
      );
    } else if (r.workload === "search") {
      const s = r.settings;
      parts.push(
        `### SEARCH — chargingStations near random points (radius ${s.radiusKm} km, first 20, a third with filters) over ${s.evses} EVSEs loaded by the real sync (${s.loadS} s) on ${s.store}; baseline: one EVSE read by id from the same store; ${s.rounds} rounds of ${s.queries} searches`,
        table(
          ["round", "baseline p50 / p99 / max ms", "search p50 / p99 / max ms", "stations per page"],
          r.rounds.map((x, i) => [
            i + 1,
            `${x.baseline.p50Ms} / ${x.baseline.p99Ms} / ${x.baseline.maxMs}`,
            `${x.search.p50Ms} / ${x.search.p99Ms} / ${x.search.maxMs}`,
            x.meanStationsPerPage,
          ]),
        ),
      );
    } else if (r.workload === "hot-session") {
      const s = r.settings;
      parts.push(
        `### HOT SESSION — one driver's subscriptions on one session getting OICP Progress notifications, while another driver reads ${s.read} at ${s.probeRequestsPerSecond} requests/s (open loop); ${s.rounds} interleaved rounds of ${s.phaseS} s idle (same subscriptions, no notifications) and ${s.phaseS} s hot; ratio of the medians of the other driver's p99`,
        table(
          [
            "stage",
            "subscriptions (sockets)",
            "notifications/s",
            "events/s to deliver",
            "idle p99 ms per round",
            "hot p99 ms per round",
            "ratio per round",
            "median p99 idle → hot ms",
            "ratio",
            "hot p50 / max ms",
            "gateway CPU % idle / hot",
            "event-loop delay max ms idle / hot",
            "events delivered",
          ],
          r.rows.map((x) => [
            x.stage,
            `${x.subscriptions} (${x.sockets})`,
            x.notificationsPerSecond,
            x.eventsPerSecondToDeliver,
            x.rounds.map((k) => k.idle.p99Ms).join(" / "),
            x.rounds.map((k) => k.hot.p99Ms).join(" / "),
            x.rounds.map((k) => `×${k.ratio}`).join(" / "),
            `${x.idleP99Ms} → ${x.hotP99Ms}`,
            `×${x.ratio}`,
            x.rounds.map((k) => `${k.hot.p50Ms} / ${k.hot.maxMs}`).join("; "),
            x.rounds.map((k) => `${k.idle.gatewayCpuPercent} / ${k.hot.gatewayCpuPercent}`).join("; "),
            x.rounds.map((k) => `${k.idle.gatewayEventLoopDelayMs.maxMs} / ${k.hot.gatewayEventLoopDelayMs.maxMs}`).join("; "),
            `${x.eventsReceived} of ${x.eventsExpected}`,
          ]),
        ),
      );
    }
  }
  const targets = results.flatMap((r) => r.targets ?? []);
  if (targets.length)
    parts.push(
      "### Targets",
      table(
        ["target", "measured", "met?"],
        targets.map((t) => [t.target, t.value, t.met ? "met" : "NOT MET"]),
      ),
    );
  return parts.join("\n\n");
}

if (only.includes("--render")) {
  // Re-renders RESULTS.md from the last run's figures (after editing bench/PROFILE.md or the notes).
  const report = JSON.parse(readFileSync(path.join(BENCH, "results", "latest.json"), "utf8"));
  writeFileSync(path.join(BENCH, "RESULTS.md"), resultsMarkdown(report, render(report.results)));
  console.log("re-rendered bench/RESULTS.md from bench/results/latest.json");
  process.exit(0);
}

const started = new Date();
const info = machine();
console.error(`bench: ${info.cpuModel}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}; ${info.pinning}`);
const results = [];
for (const w of WORKLOADS) {
  if (only.length && !only.includes(w.name)) continue;
  if (w.optional) {
    try {
      readFileSync(path.join(ROOT, w.script));
    } catch {
      continue;
    }
  }
  results.push(await runWorkload(w));
}
const finished = new Date();
const report = { command: "npm run bench", startedAt: started.toISOString(), finishedAt: finished.toISOString(), machine: info, results };
mkdirSync(path.join(BENCH, "results"), { recursive: true });
writeFileSync(path.join(BENCH, "results", "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
const text = render(results);
writeFileSync(path.join(BENCH, "RESULTS.md"), resultsMarkdown(report, text));
console.log(`\nMachine: ${info.cpuModel}, ${info.cores} cores, ${info.memoryGiB} GiB RAM, Node ${info.node}. ${info.pinning}.\n`);
console.log(text);
console.log(`\nwritten: bench/results/latest.json, bench/RESULTS.md (${Math.round((finished - started) / 1000)} s)`);
if (results.some((r) => r.failed)) process.exitCode = 1;

function resultsMarkdown(report, text) {
  const m = report.machine;
  const notes = [];
  const read = report.results.find((r) => r.workload === "read" && !r.failed);
  const storm = report.results.find((r) => r.workload === "storm" && !r.failed);
  const push = report.results.find((r) => r.workload === "push" && !r.failed);
  const hot = report.results.find((r) => r.workload === "hot-session" && !r.failed);
  if (read) {
    notes.push(
      "- READ: every server answers the same query with the same data (checked before measuring: the baselines must return byte-identical `data` to the gateway's). " +
        "The baselines serve the gateway's SDL (schema.graphql) with one in-memory resolver: no authentication, no store, no validation rules beyond graphql-js's defaults. " +
        "The gateway verifies an HS256 JWT per request, runs its armor rules, reads SQLite and records metrics. Baselines run with NODE_ENV unset (their defaults); the gateway with NODE_ENV=development (production needs real Hubject TLS settings).",
    );
    const gw = read.rows[0];
    if (!(read.ratios.gatewayOverApolloDefault >= 1.3) || !(read.ratios.gatewayOverYoga >= 1) || !(gw.p99Ms < 25)) {
      notes.push(
        `- READ targets not met in this run: the gateway served ${gw.reqPerSec} req/s (p99 ${gw.p99Ms} ms) against ${read.rows[1].reqPerSec} req/s for default Apollo and ${read.rows[2].reqPerSec} req/s for Yoga. ` +
          'With 100 connections on one core, p99 is queueing: 100 in-flight requests ÷ throughput. Where the gateway\'s time goes: see "Profile and fixes" below.',
      );
    }
  }
  if (storm) {
    const [within, poolRow, big] = storm.rows;
    notes.push(
      "- STORM: added latency = (simulator receives the AuthorizeRemoteStart − client sends startCharging) + (client receives the answer − simulator writes its answer), measured with one clock (simulator and clients share the load process). " +
        "Requests use unknown EvseIDs (one per driver, so no two drivers compete for an EVSE); the simulated Hubject answers 603 after exactly the configured delay, so each admitted request really waits 2 s upstream.",
    );
    if (within && within.upstreamSocketsPeakOpen < within.concurrentDrivers) {
      notes.push(
        `- STORM (within-limit): the gateway opened at most ${within.upstreamSocketsPeakOpen} sockets to Hubject for ${within.concurrentDrivers} simultaneous starts, so ${within.concurrentDrivers - within.upstreamSocketsPeakOpen} waited for a socket for a whole 2 s answer (HUBJECT_MAX_SOCKETS).`,
      );
    }
    for (const row of [within, poolRow].filter(Boolean)) {
      if (row.addedLatencyMs.p99 < 15) continue;
      notes.push(
        `- STORM (${row.phase}): ${row.concurrentDrivers} starts sent at the same instant; added p99 ${row.addedLatencyMs.p99} ms, of which before the call reached Hubject p99 ${row.addedBeforeUpstreamMs.p99} ms and after its answer p99 ${row.addedAfterUpstreamMs.p99} ms. ` +
          `The burst is CPU-bound in the gateway: from the first request to the moment its last start reached Hubject, ${row.burstWallMsUntilLastCall} ms passed and the gateway used ${row.burstGatewayCpuMsUntilLastCall} ms of CPU (≈ ${round(row.burstGatewayCpuMsUntilLastCall / Math.max(1, row.concurrentDrivers), 2)} ms per start: a new driver's token, limits, two store writes, a new socket and request to Hubject; see "Profile and fixes"). The starts are served one after another on one thread, so the last waits for all the others; a 15 ms p99 for a burst of ${row.concurrentDrivers} would need under 0.15 ms per start.`,
      );
    }
    if (big) {
      notes.push(
        `- STORM (storm): ${big.concurrentDrivers} distinct drivers at once with RATE_LIMIT_REMOTE_STARTS_PER_MINUTE=100 (the maximum config allows — Hubject's limit for the whole EMP): ` +
          `${big.authorizeRemoteStartCallsAtSimulator} AuthorizeRemoteStart calls reached Hubject, ${big.rateLimited} requests were refused with RATE_LIMITED (p50 ${big.rateLimitedLatencyMs.p50} ms, p99 ${big.rateLimitedLatencyMs.p99} ms, all refused within ${big.allRefusalsAnsweredWithinMs} ms), ${big.otherOutcomes} other outcomes. ` +
          "Here the limit is the point of the test: the refusals are answered from one core, as fast as the gateway can authenticate and execute them; the admitted starts' added latency includes waiting behind that work.",
      );
    }
  }
  if (push) {
    notes.push(
      "- PUSH: each client is one driver subscribed to `sessionUpdated` (all its sessions); each driver has one charger-started session (an OICP Start notification carrying the driver's EvcoID). " +
        `Progress notifications are posted to the OICP listener at ${push.settings.ratePerSecond ?? "?"} a second for ${push.settings.durationS} s, to the sessions in turn, spread evenly over each second (≤ 64 in flight); latency = POST sent → event received by the client; lost = acknowledged posts whose event never arrived within 3 s after the last post. ` +
        "RSS per subscriber = (RSS with all clients subscribed − RSS idle) ÷ subscribers, no forced GC. CPU = gateway utime+stime over the posting window + drain.",
    );
    for (const row of push.rows) {
      if (row.postFailures > 0) {
        notes.push(
          `- PUSH (${row.subscribers} subscribers): ${row.postFailures} posts were not acknowledged with 200 (${Object.entries(
            row.failureReasons ?? {},
          )
            .map(([why, n]) => `${n} × ${why}`)
            .join(", ")}); they are left out of latency and loss.`,
        );
      }
      if (!(row.latencyMs.p99 < 25)) {
        notes.push(
          `- PUSH (${row.subscribers} subscribers): p99 ${row.latencyMs.p99} ms with p50 ${row.latencyMs.p50} ms and max ${row.latencyMs.max} ms, while the gateway used ${row.gatewayCpuPercent}% of its core: the tail is pauses, not load. ` +
            `In this run the gateway's event loop was held up to ${row.gatewayEventLoopDelayMs?.maxMs ?? "?"} ms (p99 ${row.gatewayEventLoopDelayMs?.p99Ms ?? "?"} ms), the load process's up to ${row.loadEventLoopDelayMs?.maxMs ?? "?"} ms, and no single GC pause exceeded 100 ms unless the table says so (bursts of shorter ones still add up). ` +
            "See \"Profile and fixes\": in every configuration tried the gateway's event loop stalls for a few hundred ms at least once per run; a profile shows two sources, synchronous SQLite I/O on the gateway's thread (this shared disk) and bursts of back-to-back young-generation collections.",
        );
      }
      if (row.postsPerSecond < 0.9 * row.targetPostsPerSecond) {
        notes.push(
          `- PUSH (${row.subscribers} subscribers): the target of ${row.targetPostsPerSecond} notifications a second was NOT reached: ${row.postsPerSecond}/s were acknowledged (each post waits for the gateway's OICP acknowledgement, ≤ 64 in flight; gateway CPU ${row.gatewayCpuPercent}% of one core). ` +
            "The run therefore lasted longer than the nominal duration. This bench does not separate how much of the shortfall is the gateway and how much the single load process.",
        );
      }
    }
  }
  if (hot) {
    notes.push(
      "- HOT SESSION (issue 12): the hot driver's subscriptions are graphql-ws `sessionUpdated(sessionId)` on one charger-started session, over raw sockets that count frames without parsing them (the load process must not starve the probe); the other driver's reads come from a child process of their own, an open loop (a stalled gateway delays every request sent meanwhile), latency = request written → response read. " +
        "Idle and hot phases alternate after an unreported warm-up round; each hot phase ends with every event it caused delivered before the next phase begins. " +
        "The control stage has the same notifications with one subscription: the part of the hot p99 that is handling notifications (parse, two store writes, the state machine), not fan-out. " +
        "The red-team stage lifts SUBSCRIPTION_MAX_PER_SOCKET/_PER_DRIVER to put 5,000 subscriptions on one session (what issue 12 saw take a replica to 100 % CPU); no target applies to it.",
    );
  }
  return [
    "# Benchmarks",
    "",
    `Generated by \`${report.command}\` (bench/run.mjs) on ${report.startedAt} (finished ${report.finishedAt}). Only numbers measured in that run; raw figures in bench/results/latest.json.`,
    "",
    "## Machine",
    "",
    `- CPU: ${m.cpuModel}, ${m.cores} cores`,
    `- Memory: ${m.memoryGiB} GiB`,
    `- Node ${m.node}, ${m.platform}`,
    `- Pinning: ${m.pinning}`,
    "- Everything on 127.0.0.1; one server under load at a time (in READ all servers are started first and measured in turns).",
    "",
    "## Results",
    "",
    text,
    "",
    "## Notes",
    "",
    ...notes,
    "",
    // Hand-written (bench/PROFILE.md): profiles and before/after figures of the fixes, with their commands.
    ...(existsSync(path.join(BENCH, "PROFILE.md")) ? [readFileSync(path.join(BENCH, "PROFILE.md"), "utf8")] : []),
  ].join("\n");
}
