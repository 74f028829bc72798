// AUTHORIZE workload (issue 14): Hubject asks the EMP about cards at chargers (eRoamingAuthorizeStart)
// at RATE requests a second, open loop (each request leaves at its scheduled time, and its latency
// counts from then, so a stall is not hidden). Most are other EMPs' cards (Hubject broadcasts RFID
// requests to every EMP): FOREIGN_SHARE unknown UIDs, the rest cards of ours from a registry of
// REGISTRY cards, each authorized (a session is created for its driver). The baseline, measured in
// the same run, is the same rate of unreadable requests (answered NotAuthorized 022 without a store
// read): the ratio is what the registry, its cache and the session write cost over the listener itself.
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { emitResult, HOST, ROOT, round, sleep, startGateway, summarize, workload } from "./lib.mjs";

const RATE = Number(process.env.BENCH_AUTH_RATE ?? 200);
const ROUND_S = Number(process.env.BENCH_AUTH_ROUND_S ?? 10);
const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 3);
const REGISTRY = Number(process.env.BENCH_AUTH_REGISTRY ?? 10_000);
const FOREIGN_SHARE = Number(process.env.BENCH_AUTH_FOREIGN_SHARE ?? 0.9);
const START_PATH = "/api/oicp/charging/v21/operators/DE*SIM/authorize/start";
const EVSES = ["DE*SIM*E0001*1", "DE*SIM*E0001*2", "DE*SIM*E0001*3", "DE*SIM*E0001*4"];

const bench = workload("authorize", { hardLimitMs: 4 * 60_000 });

const uidOf = (n) => `0A${String(n).padStart(12, "0")}`;
const foreignUid = () => randomBytes(7).toString("hex").toUpperCase();

/** Fills the registry before the gateway starts, through the gateway's own code (dist/). */
async function fillRegistry(databaseUrl) {
  const load = (file) => import(pathToFileURL(path.join(ROOT, "dist", "src", file)).href);
  const { openSqlStore } = await load("store/sql/database.js");
  const { IdentificationRegistry } = await load("identifications/registry.js");
  const { createInProcessRegistryChanges } = await load("pubsub/registry-changes.js");
  const { createLogger } = await load("logger.js");
  const store = openSqlStore({ url: databaseUrl, sessionCacheSize: 0, logger: createLogger({ level: "silent" }) });
  await store.migrate();
  const registry = new IdentificationRegistry({
    store: store.identifications,
    changes: createInProcessRegistryChanges(),
    clock: { now: () => new Date() },
    logger: createLogger({ level: "silent" }),
    pinHashCost: 4,
    cache: { maxEntries: 0, ttlMs: 0 },
  });
  for (let i = 0; i < REGISTRY; i += 1_000) {
    const batch = [];
    for (let n = i; n < Math.min(REGISTRY, i + 1_000); n++) {
      batch.push({ driverId: `driver-${n}`, evcoId: `DE-GQL-C${String(n).padStart(8, "0")}-7`, type: "RFID_MIFARE_FAMILY", uid: uidOf(n) });
    }
    const outcomes = await registry.register(batch);
    const bad = outcomes.find((o) => !o.ok);
    if (bad) throw new Error(`registry fill failed: ${JSON.stringify(bad)}`);
  }
  registry.close();
  await store.close();
}

/** Sends `bodyFor(i)` RATE times a second for ROUND_S; latencies from each request's scheduled time. */
async function phase(oicpPort, bodyFor) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latencies = [];
  const answers = new Map();
  const total = RATE * ROUND_S;
  const interval = 1000 / RATE;
  const t0 = performance.now() + 50;
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const text = JSON.stringify(bodyFor(i));
    inflight.push(
      new Promise((resolve) => {
        const req = http.request(
          {
            host: HOST,
            port: oicpPort,
            path: START_PATH,
            method: "POST",
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
          },
          (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => {
              latencies.push(performance.now() - due);
              try {
                const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
                const key = `${body.AuthorizationStatus}/${body.StatusCode?.Code}`;
                answers.set(key, (answers.get(key) ?? 0) + 1);
              } catch {
                answers.set("unreadable", (answers.get("unreadable") ?? 0) + 1);
              }
              resolve();
            });
          },
        );
        req.on("error", () => {
          answers.set("error", (answers.get("error") ?? 0) + 1);
          resolve();
        });
        req.end(text);
      }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  const s = summarize(latencies);
  return { n: s.n, p50Ms: round(s.p50), p99Ms: round(s.p99), maxMs: round(s.max), answers: Object.fromEntries(answers) };
}

await bench.run(async () => {
  const databaseUrl = path.join(bench.tmp, "authorize.sqlite");
  await fillRegistry(databaseUrl);
  const gateway = await startGateway(bench.children, {
    DATABASE_URL: databaseUrl,
    OICP_ALLOW_PLAIN_HTTP: "true",
    HUBJECT_PROVIDER_ID: "DE-GQL",
  });
  let known = 0;
  const real = () => {
    const ours = Math.random() >= FOREIGN_SHARE;
    const uid = ours ? uidOf(known++ % REGISTRY) : foreignUid();
    return {
      SessionID: randomUUID(),
      OperatorID: "DE*SIM",
      EvseID: EVSES[known % EVSES.length],
      Identification: { RFIDMifareFamilyIdentification: { UID: uid } },
    };
  };
  const unreadable = () => ({ OperatorID: "DE*SIM", Identification: { RFIDMifareFamilyIdentification: { UID: "not-a-uid" } } });
  // Warm-up: both paths, a few seconds.
  await phase(gateway.oicpPort, (i) => (i % 2 ? real() : unreadable()));
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const baseline = await phase(gateway.oicpPort, unreadable);
    const authorize = await phase(gateway.oicpPort, real);
    rounds.push({ baseline, authorize, ratio: round(authorize.p99Ms / baseline.p99Ms) });
  }
  const p99s = rounds.map((x) => x.authorize.p99Ms).sort((a, b) => a - b);
  const median = p99s[Math.floor(p99s.length / 2)];
  const worst = p99s[p99s.length - 1];
  emitResult({
    workload: "authorize",
    settings: {
      requestsPerSecond: RATE,
      roundS: ROUND_S,
      rounds: ROUNDS,
      registry: REGISTRY,
      foreignShare: FOREIGN_SHARE,
      store: "sqlite",
    },
    rounds,
    medianP99Ms: median,
    worstP99Ms: worst,
    targets: [
      {
        target: `AUTHORIZE p99 < 20 ms at ${RATE} requests/s, ${Math.round(FOREIGN_SHARE * 100)} % other EMPs' cards`,
        value: `${rounds.map((x) => x.authorize.p99Ms).join(" / ")} ms (median ${median})`,
        met: worst < 20,
      },
    ],
  });
});
