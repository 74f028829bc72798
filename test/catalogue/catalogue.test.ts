// The EVSE catalogue against the real simulator over real sockets, on SQLite files and on
// PostgreSQL (a schema per test): full and delta sync, a resumed sync, a malformed record,
// 429 backoff, status changes published, and search (distance order, filters, pagination).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { distanceKm, type EvseStatusChange } from "../../src/catalogue/catalogue.js";
import type { EvseStatusEvents } from "../../src/catalogue/ports.js";
import { SearchArgumentError, searchStations } from "../../src/catalogue/search.js";
import { CatalogueSync } from "../../src/catalogue/sync.js";
import { HubjectDatasource } from "../../src/datasources/hubject.datasource.js";
import { type HubjectSimulator, startSimulator } from "../../src/simulator/hubject.simulator.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { createTestSchema, postgresAvailable, type TestSchema } from "../store/pg-support.js";
import { validateOicpRequest } from "../support/openapi.js";

const PROVIDER = "DE-GQL";
const silent = pino({ level: "silent" });
const BERLIN = { latitude: 52.52, longitude: 13.405 };

function recordingEvents(): EvseStatusEvents & { published: EvseStatusChange[] } {
  const published: EvseStatusChange[] = [];
  return {
    published,
    publish: (changes) => published.push(...changes),
    subscribe: () => {
      throw new Error("not used");
    },
    close: async () => undefined,
  };
}

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`EVSE catalogue on ${engine}`, () => {
    let simulator: HubjectSimulator;
    let hubject: HubjectDatasource;
    let store: SqlSessionStore;
    let dir: string | undefined;
    let schema: TestSchema | undefined;

    beforeEach(async () => {
      simulator = await startSimulator({ providerId: PROVIDER, logger: silent, evseData: { seed: 7, evses: 5_000 } });
      hubject = new HubjectDatasource({
        baseUrl: simulator.url,
        providerId: PROVIDER,
        resilience: { retryInitialDelayMs: 5, retryMaxDelayMs: 2_000, retryAttempts: 0 },
      });
      let url: string;
      if (engine === "sqlite") {
        dir = mkdtempSync(path.join(tmpdir(), "catalogue-"));
        url = path.join(dir, "gw.db");
      } else {
        await postgresAvailable();
        schema = await createTestSchema();
        url = schema.url;
      }
      store = openSqlStore({ url, logger: silent });
      await store.migrate();
    });

    afterEach(async () => {
      hubject.close();
      await simulator.close();
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await schema?.drop();
      dir = undefined;
      schema = undefined;
    });

    const sync = (events: EvseStatusEvents | null = null, pageSize = 1_000) =>
      new CatalogueSync({ store: store.catalogue, source: hubject, events, logger: silent, pageSize });

    it("loads the whole catalogue, then applies deltas: added, changed, deleted", async () => {
      const full = await sync().syncData();
      expect(full).toMatchObject({ mode: "full", skipped: 0, interrupted: null });
      expect(await store.catalogue.countEvses()).toBe(simulator.evseData.size);
      expect(simulator.evseData.size).toBeGreaterThanOrEqual(5_012);
      const sim = await store.catalogue.evses(["DE*SIM*E0001*4"]);
      expect(sim.get("DE*SIM*E0001*4")).toMatchObject({ operatorId: "DE*SIM", maxPowerKw: 150, isHubjectCompatible: true });

      // LastCall is sent floored to the second: records changed within that second come again (harmless upserts).
      const { added, changed, deleted } = simulator.evseData.mutate({ added: 5, changed: 3, deleted: 2 });
      const delta = await sync().syncData();
      expect(delta.mode).toBe("delta");
      expect(delta.upserted).toBeGreaterThanOrEqual(added.length + changed.length);
      expect(delta.deleted).toBe(2);
      expect(await store.catalogue.countEvses()).toBe(simulator.evseData.size);
      const read = await store.catalogue.evses([...added, ...changed, ...deleted]);
      for (const id of added) expect(read.has(id)).toBe(true);
      for (const id of changed) expect(read.get(id)?.maxPowerKw).toBe(350);
      for (const id of deleted) expect(read.has(id)).toBe(false);

      const pulls = simulator.callsTo("PullEvseData");
      expect(pulls.at(-1)?.body).toHaveProperty("LastCall");
      for (const call of pulls) {
        expect(validateOicpRequest("eRoamingPullEVSEData", call.body)).toEqual({ valid: true, errors: [] });
        expect(call.path).toMatch(/\?page=\d+&size=1000$/);
      }
    });

    it("resumes an interrupted full load at the page it stopped on, without losing or duplicating", async () => {
      const first = sync(null, 500);
      // Page 0 and 1 succeed, then 503 on page 2.
      const original = hubject.pullEvseData.bind(hubject);
      let calls = 0;
      hubject.pullEvseData = async (query) => {
        if (++calls === 3) simulator.failNext("PullEvseData", { kind: "http", status: 503 });
        return original(query);
      };
      const interrupted = await first.syncData();
      expect(interrupted.interrupted).not.toBeNull();
      expect(interrupted.pages).toBe(2);
      expect(await store.catalogue.syncCursor("evse-data")).toMatchObject({ mode: "full", page: 2 });
      hubject.pullEvseData = original;
      const resumed = await sync(null, 500).syncData();
      expect(resumed.interrupted).toBeNull();
      const pages = simulator.callsTo("PullEvseData").map((c) => new URL(c.path, "http://x").searchParams.get("page"));
      expect(pages.slice(0, 4)).toEqual(["0", "1", "2", "2"]);
      expect(interrupted.upserted + resumed.upserted).toBe(simulator.evseData.size);
      expect(await store.catalogue.countEvses()).toBe(simulator.evseData.size);
    });

    it("skips a malformed record alone, counts it and goes on", async () => {
      const good = simulator.evseData.record("DE*SIM*E0001*1")!;
      simulator.evseData.injectMalformed([
        { ...good, EvseID: "DE*BAD*E1*1", GeoCoordinates: { DecimalDegree: { Latitude: "95.1", Longitude: "13.4" } } },
        { ...good, EvseID: "DE*BAD*E2*1", deltaType: "sideways" },
        { ...good, EvseID: "DE*BAD*E3*1", Plugs: undefined },
        { ...good, EvseID: "DE*BAD*E4*1", Plugs: ["Future Plug 9000"] },
      ]);
      let counted = 0;
      const outcome = await new CatalogueSync({
        store: store.catalogue,
        source: hubject,
        events: null,
        logger: silent,
        pageSize: 2_000,
        onSkipped: (n) => {
          counted += n;
        },
      }).syncData();
      expect(outcome.skipped).toBe(3);
      expect(counted).toBe(3);
      // An unknown plug name is kept verbatim (open enum).
      expect((await store.catalogue.evses(["DE*BAD*E4*1"])).get("DE*BAD*E4*1")?.plugs).toEqual(["Future Plug 9000"]);
      expect(await store.catalogue.countEvses()).toBe(simulator.evseData.size + 1);
    });

    it("backs off on 429, honouring Retry-After, and resumes", async () => {
      simulator.failNext("PullEvseData", { kind: "http", status: 429, retryAfterSeconds: 1 });
      const stopped = await sync().syncData();
      expect(stopped.interrupted?.retryAfterMs).toBe(1_000);
      // Held: a call before Retry-After is not sent at all.
      const held = await sync().syncData();
      expect(held.interrupted).not.toBeNull();
      expect(simulator.callsTo("PullEvseData")).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 1_050));
      const resumed = await sync().syncData();
      expect(resumed.interrupted).toBeNull();
      const calls = simulator.callsTo("PullEvseData");
      expect(calls[1]!.receivedAt.getTime() - calls[0]!.receivedAt.getTime()).toBeGreaterThanOrEqual(1_000);
      expect(await store.catalogue.countEvses()).toBe(simulator.evseData.size);
    });

    it("pulls statuses, all and by operator, and publishes only the changes", async () => {
      await sync().syncData();
      const events = recordingEvents();
      const first = await sync(events).syncStatus();
      expect(first.length).toBe(simulator.evseData.size);
      const moved = simulator.evseData.changeStatuses(10);
      const second = await sync(events).syncStatus();
      expect(new Set(second.map((c) => c.evseId))).toEqual(new Set(moved.keys()));
      await sync(events).syncStatus(["DE*SIM"]);
      expect(validateOicpRequest("eRoamingPullEVSEStatus", simulator.callsTo("PullEvseStatus")[0]!.body).valid).toBe(true);
      const byOperator = simulator.callsTo("PullEvseStatusByOperatorId")[0]!.body;
      expect(validateOicpRequest("eRoamingPullEVSEStatusByOperatorID", byOperator)).toEqual({ valid: true, errors: [] });
      expect(events.published.length).toBe(first.length + second.length);
    });

    it("searches by distance, with every filter and pagination", async () => {
      await sync().syncData();
      await sync().syncStatus();
      const all = await searchStations(store.catalogue, { near: BERLIN, radiusKm: 5, first: 50 });
      expect(all.stations.length).toBe(50);
      const distances = all.stations.map((s) => s.distanceKm);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
      for (const station of all.stations) {
        expect(station.distanceKm).toBeLessThanOrEqual(5);
        expect(station.distanceKm).toBeCloseTo(distanceKm(BERLIN, station), 6);
      }

      // Pagination: pages of 7 put together are the first page of 50, without gaps or repeats.
      const paged: string[] = [];
      let after: string | null = null;
      while (paged.length < 50) {
        const page = await searchStations(store.catalogue, { near: BERLIN, radiusKm: 5, first: 7, after });
        paged.push(...page.stations.map((s) => `${s.operatorId}|${s.id}`));
        after = page.endCursor;
        if (paged.length < 50) expect(page.hasNextPage).toBe(true);
      }
      expect(paged.slice(0, 50)).toEqual(all.stations.map((s) => `${s.operatorId}|${s.id}`));

      const filtered = await searchStations(store.catalogue, {
        near: BERLIN,
        radiusKm: 10,
        first: 50,
        filter: {
          plugs: ["CCS Combo 2 Plug (Cable Attached)"],
          minPowerKw: 150,
          onlyAvailable: true,
          operatorIds: ["DE*ION", "DE*AUT"],
          authenticationModes: ["REMOTE"],
          paymentOptions: ["Contract"],
        },
      });
      expect(filtered.stations.length).toBeGreaterThan(0);
      for (const station of filtered.stations) {
        expect(["DE*ION", "DE*AUT"]).toContain(station.operatorId);
        for (const evse of station.evses) {
          expect(evse.plugs).toContain("CCS Combo 2 Plug (Cable Attached)");
          expect(evse.maxPowerKw).toBeGreaterThanOrEqual(150);
          expect(evse.status?.status).toBe("Available");
          expect(evse.authenticationModes).toContain("REMOTE");
          expect(evse.paymentOptions).toContain("Contract");
        }
      }
      // The DE*SIM chargers stand at Alexanderplatz.
      const sim = await searchStations(store.catalogue, {
        near: { latitude: 52.5219, longitude: 13.4132 },
        radiusKm: 1,
        first: 50,
        filter: { operatorIds: ["DE*SIM"] },
      });
      expect(sim.stations.flatMap((s) => s.evses).length).toBe(12);

      for (const [search, argument] of [
        [{ near: BERLIN, radiusKm: 51 }, "radiusKm"],
        [{ near: { latitude: 91, longitude: 0 }, radiusKm: 1 }, "near.latitude"],
        [{ near: { latitude: 0, longitude: 181 }, radiusKm: 1 }, "near.longitude"],
        [{ near: BERLIN, radiusKm: 1, first: 51 }, "first"],
      ] as const) {
        await expect(searchStations(store.catalogue, search)).rejects.toSatisfy(
          (error: unknown) => error instanceof SearchArgumentError && error.argument === argument,
        );
      }
    });
  });
}
