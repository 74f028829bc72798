// SEARCH workload (issue 15): `chargingStations` search over a catalogue of EVSES (100,000) EVSEs,
// loaded by the real sync (PullEvseData pages from the built-in simulator's generated catalogue,
// src/catalogue/sync.ts) into the store (SQLite, or PostgreSQL with BENCH_DATABASE_URL). Then
// ROUNDS rounds of QUERIES searches at random points around the catalogue's cities (radius
// RADIUS_KM, first 20; every third with filters), one at a time, latency per search through the
// search use case and the store adapter. The baseline, measured in the same rounds, is a read of
// one EVSE by its id (the primary key) from the same store.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { databaseUrlFor, emitResult, ROOT, round, storeKind, summarize, workload } from "./lib.mjs";

const EVSES = Number(process.env.BENCH_SEARCH_EVSES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_SEARCH_ROUNDS ?? 3);
const QUERIES = Number(process.env.BENCH_SEARCH_QUERIES ?? 2_000);
const RADIUS_KM = Number(process.env.BENCH_SEARCH_RADIUS_KM ?? 5);
const CITIES = [
  [52.52, 13.405],
  [53.551, 9.993],
  [48.137, 11.575],
  [50.938, 6.96],
  [50.11, 8.682],
];

const bench = workload("search", { hardLimitMs: 6 * 60_000 });
const load = (file) => import(pathToFileURL(path.join(ROOT, "dist", "src", file)).href);

await bench.run(async () => {
  const { openSqlStore } = await load("store/sql/database.js");
  const { startSimulator } = await load("simulator/hubject.simulator.js");
  const { HubjectDatasource } = await load("datasources/hubject.datasource.js");
  const { CatalogueSync } = await load("catalogue/sync.js");
  const { searchStations } = await load("catalogue/search.js");
  const { createLogger } = await load("logger.js");
  const logger = createLogger({ level: "silent" });

  const store = openSqlStore({ url: databaseUrlFor(bench.tmp, "search"), logger });
  await store.migrate();
  const simulator = await startSimulator({ providerId: "DE-GQL", logger, evseData: { seed: 15, evses: EVSES } });
  const hubject = new HubjectDatasource({ baseUrl: simulator.url, providerId: "DE-GQL" });
  const sync = new CatalogueSync({ store: store.catalogue, source: hubject, events: null, logger, pageSize: 2_000 });
  const loadStarted = performance.now();
  const loaded = await sync.syncData();
  await sync.syncStatus();
  const loadS = (performance.now() - loadStarted) / 1000;
  const total = await store.catalogue.countEvses();
  const ids = simulator.evseData.evseIds();

  const point = () => {
    const [lat, lon] = CITIES[Math.floor(Math.random() * CITIES.length)];
    return { latitude: lat + (Math.random() - 0.5) * 0.3, longitude: lon + (Math.random() - 0.5) * 0.45 };
  };
  const filters = [
    null,
    { minPowerKw: 50, plugs: ["CCS Combo 2 Plug (Cable Attached)"] },
    { onlyAvailable: true, authenticationModes: ["REMOTE"] },
  ];
  const time = async (fn) => {
    const t = performance.now();
    const out = await fn();
    return [performance.now() - t, out];
  };
  // Warm-up.
  for (let i = 0; i < 200; i++) await searchStations(store.catalogue, { near: point(), radiusKm: RADIUS_KM, first: 20 });

  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const baseline = [];
    const search = [];
    let stations = 0;
    for (let i = 0; i < QUERIES; i++) {
      const [b] = await time(() => store.catalogue.evses([ids[Math.floor(Math.random() * ids.length)]]));
      baseline.push(b);
      const [s, page] = await time(() =>
        searchStations(store.catalogue, { near: point(), radiusKm: RADIUS_KM, first: 20, filter: filters[i % filters.length] }),
      );
      search.push(s);
      stations += page.stations.length;
    }
    const bs = summarize(baseline);
    const ss = summarize(search);
    rounds.push({
      baseline: { p50Ms: round(bs.p50), p99Ms: round(bs.p99), maxMs: round(bs.max) },
      search: { p50Ms: round(ss.p50), p99Ms: round(ss.p99), maxMs: round(ss.max) },
      meanStationsPerPage: round(stations / QUERIES, 1),
    });
  }
  hubject.close();
  await simulator.close();
  await store.close();

  const p99s = rounds.map((x) => x.search.p99Ms).sort((a, b) => a - b);
  const median = p99s[Math.floor(p99s.length / 2)];
  const worst = p99s[p99s.length - 1];
  emitResult({
    workload: "search",
    settings: {
      evses: total,
      rounds: ROUNDS,
      queries: QUERIES,
      radiusKm: RADIUS_KM,
      store: storeKind(),
      loadS: round(loadS, 1),
      skipped: loaded.skipped,
    },
    rounds,
    medianP99Ms: median,
    spreadP99Ms: round(worst - p99s[0]),
    worstP99Ms: worst,
    targets: [
      {
        target: `SEARCH p99 < 20 ms over ${total} EVSEs (radius ${RADIUS_KM} km, first 20)`,
        value: `${rounds.map((x) => x.search.p99Ms).join(" / ")} ms (median ${median})`,
        met: worst < 20,
      },
    ],
  });
});
