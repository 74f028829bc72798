// Shared helpers for the benchmark scripts (plain Node ESM, no timed assertions).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BENCH = path.join(ROOT, "bench");
export const HOST = "127.0.0.1";
export const JWT_SECRET = "bench-secret-0123456789-0123456789-abcdef";
export const PROVIDER_ID = "DE-GQL";

export const HAS_TASKSET = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
export const SERVER_CORE = "0";
export const LOAD_CORE = "1";

/**
 * `node` flags for the gateway: BENCH_CPU_PROF_DIR=dir writes its V8 CPU profile there
 * (summarise with bench/profile-summary.mjs); BENCH_GATEWAY_NODE_FLAGS adds flags.
 */
export function gatewayNodeArgs() {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  // BENCH_GATEWAY_NODE_FLAGS: more node/V8 flags for the gateway only (e.g. GC settings).
  const extra = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean);
  return [...extra, ...(dir ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(dir)] : [])];
}

/** Spawns `node args…` pinned to `core` when taskset exists. */
export function spawnNode(args, { core, env = {}, stdio = ["ignore", "pipe", "pipe"] } = {}) {
  const fullEnv = { ...process.env, ...env };
  const child =
    HAS_TASKSET && core !== undefined
      ? spawn("taskset", ["-c", core, process.execPath, ...args], { cwd: ROOT, env: fullEnv, stdio })
      : spawn(process.execPath, args, { cwd: ROOT, env: fullEnv, stdio });
  child.output = "";
  const keep = (d) => {
    child.output += d.toString();
    if (child.output.length > 20000) child.output = child.output.slice(-10000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return child;
}

export async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** For pacing the load (posts spread over a second); to wait for something, use until(). */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` (sync or async) every `intervalMs` until it returns something truthy, at most
 * `timeoutMs`; resolves with whether it did. An exception in `probe` ends the wait with it.
 */
export async function until(probe, { timeoutMs = 10_000, intervalMs = 20 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (performance.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** Polls `url` until it answers with status < 500, at most `timeoutMs`. */
export async function waitForHttp(url, { timeoutMs = 30000, child } = {}) {
  let lastError;
  const answered = await until(
    async () => {
      if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${url} answered:\n${child.output}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status < 500) return true;
        lastError = new Error(`HTTP ${res.status}`);
      } catch (error) {
        lastError = error;
      }
      return false;
    },
    { timeoutMs, intervalMs: 100 },
  );
  if (!answered) throw new Error(`${url} did not answer within ${timeoutMs} ms: ${lastError?.message}\n${child?.output ?? ""}`);
}

/**
 * The frame of a workload script: a temp folder, the child processes it starts, a hard time limit
 * that stops them all (exit code 3), and `run(main)`, which runs the workload and then cleans up
 * (children, PostgreSQL schemas, the temp folder) whatever happened.
 */
export function workload(name, { hardLimitMs }) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `emp-bench-${name}-`));
  const children = [];
  const stopChildren = () => Promise.all(children.map((c) => stopChild(c)));
  const hardStop = setTimeout(async () => {
    console.error(`${name}: hard time limit reached, stopping`);
    await stopChildren();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(3);
  }, hardLimitMs);
  hardStop.unref();
  return {
    tmp,
    children,
    async run(main) {
      try {
        await main();
      } catch (error) {
        console.error(error);
        process.exitCode = 1;
      } finally {
        await stopChildren();
        await dropBenchSchemas().catch((error) => console.error(`${name}: could not drop the PostgreSQL schemas: ${error.message}`));
        rmSync(tmp, { recursive: true, force: true });
        clearTimeout(hardStop);
      }
    },
  };
}

/**
 * Starts the gateway (dist/src/main.js, as `npm start` runs it) on the server core with
 * gatewayEnv(env), adds it to `children`, and resolves once it is ready (/readyz: store, pub/sub
 * and Hubject circuit fine). Without HUBJECT_BASE_URL it runs its embedded simulator.
 */
export async function startGateway(children, env, { port, oicpPort } = {}) {
  const ports = { port: port ?? (await freePort()), oicpPort: oicpPort ?? (await freePort()) };
  const simulator = env.HUBJECT_BASE_URL ? {} : { SIMULATOR_PORT: String(await freePort()) };
  const child = spawnNode([...gatewayNodeArgs(), "dist/src/main.js"], {
    core: SERVER_CORE,
    env: gatewayEnv({ PORT: String(ports.port), OICP_PORT: String(ports.oicpPort), ...simulator, ...env }),
  });
  children.push(child);
  const base = `http://${HOST}:${ports.port}`;
  await waitForHttp(`${base}/readyz`, { child });
  return { child, ...ports, base, url: `${base}/graphql`, metricsUrl: `${base}/metrics` };
}

export async function driverToken(sub, evcoIds) {
  return new SignJWT({ evco_ids: evcoIds })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** EvcoIDs that pass OICP's pattern: DE-GQL-C<8 digits>-<check char>. The check char is not verified by pattern. */
export const evcoFor = (n) => `DE-GQL-C${String(n).padStart(8, "0")}-7`;

/** Environment for a gateway child (as `npm start` runs it, minus production-only TLS/Hubject settings). */
export function gatewayEnv(extra) {
  return {
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    SANDBOX_ENABLED: "false",
    HOST,
    OICP_HOST: HOST,
    AUTH_JWT_SECRET: JWT_SECRET,
    RATE_LIMIT_MUTATIONS_PER_MINUTE: "1000000",
    RECONCILE_INTERVAL_MS: "0",
    CDR_BACKFILL_INTERVAL_MS: "0",
    ...extra,
  };
}

/** Peak and current resident set size of a process, in MiB (Linux /proc). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
    return { hwmMiB: kb("VmHWM") / 1024, rssMiB: kb("VmRSS") / 1024 };
  } catch {
    return { hwmMiB: NaN, rssMiB: NaN };
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime + stime
  } catch {
    return NaN;
  }
}

/** One core's time so far from /proc/stat, in ms: what the kernel and the hypervisor took too. */
export function coreTimes(core) {
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`cpu${core} `));
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map((v) => (Number(v) * 1000) / CLOCK_TICKS);
    return { user, nice, system, idle, iowait, irq, softirq, steal };
  } catch {
    return null;
  }
}

/** The real node pid behind `taskset -c N node …` (taskset execs, so it is the same pid). */
export const pidOf = (child) => child.pid;

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function summarize(values) {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
  };
}

export const round = (v, digits = 2) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);

/** POSTs a GraphQL operation; resolves with status, parsed body and elapsed ms. */
export async function gql(url, query, variables, token, { timeoutMs = 30000 } = {}) {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const t1 = performance.now();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, ms: t1 - t0, t0, t1 };
}

/** Writes the workload result as the last stdout line, prefixed, for run.mjs. */
export function emitResult(result) {
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(result)}\n`);
}

/**
 * The store of a benchmarked gateway: a fresh SQLite file under `dir` (the default, as `npm start`
 * runs), or with BENCH_DATABASE_URL=postgres://… a fresh schema in that database (the store of a
 * multi-replica deployment), dropped by dropBenchSchemas().
 */
const benchSchemas = [];
export function databaseUrlFor(dir, name) {
  const pg = process.env.BENCH_DATABASE_URL;
  if (!pg) return path.join(dir, `${name}.sqlite`);
  const schema = `bench_${name.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${Date.now()}`;
  benchSchemas.push(schema);
  return `${pg}${pg.includes("?") ? "&" : "?"}schema=${schema}`;
}

export const storeKind = () => (process.env.BENCH_DATABASE_URL ? "postgres" : "sqlite");

export async function dropBenchSchemas() {
  if (!benchSchemas.length) return;
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: process.env.BENCH_DATABASE_URL });
  await client.connect();
  try {
    for (const schema of benchSchemas.splice(0)) await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
