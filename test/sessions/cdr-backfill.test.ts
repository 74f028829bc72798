// The CDR back-fill reads what Hubject kept (GetChargeDetailRecords) with the same reader as a
// pushed CDR: it never drops a record it cannot fully read, and a record downloaded again on the
// next run is not stored again (Hubject does not track what we downloaded).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CdrBackfill } from "../../src/sessions/cdr-backfill.js";
import type { CdrSource } from "../../src/sessions/ports.js";
import { example } from "../support/examples.js";
import { HUBJECT_ID, later, newSession, openWorld, silentLogger, T0, type World } from "./support.js";

let world: World;
beforeEach(async () => {
  world = await openWorld();
});
afterEach(() => world.close());

/** Hubject's kept CDRs, as the exact texts it sends; the same every run. */
const kept = (...texts: string[]): CdrSource => ({
  async *chargeDetailRecordTexts() {
    yield texts;
  },
});
const cdrText = (fields: Record<string, unknown>) => JSON.stringify({ ...example("14-charge-detail-record.request"), ...fields });
const backfill = (source: CdrSource) =>
  new CdrBackfill({ sessions: world.service, hubject: source, clock: world.clock, logger: silentLogger, lookbackMs: 48 * 3_600_000 });

describe("CdrBackfill", () => {
  it("keeps every record: one without charging times completes its session, one without SessionEnd is kept as rejected", async () => {
    const session = await world.service.writer.create(newSession({ status: "CHARGING", hubjectSessionId: HUBJECT_ID, requestedAt: T0 }));
    world.clock.advance(3 * 3_600_000);
    const partial = cdrText({ ChargingStart: undefined, ChargingEnd: undefined, ConsumedEnergy: "21,343" });
    const broken = cdrText({ SessionID: "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b", SessionEnd: undefined });

    const report = await backfill(kept(partial, broken)).run();

    expect(report).toEqual({ fetched: 2, stored: 1, rejected: 1 });
    expect(await world.store.get(session!.id)).toMatchObject({
      status: "COMPLETED",
      chargeDetailRecord: { consumedEnergyKwh: "21.343", chargingStart: null },
    });
    const [rejected] = await world.store.inboundInState("rejected", 10);
    expect(rejected).toMatchObject({ source: "backfill", text: broken, hubjectSessionId: "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b" });
    expect(rejected!.problem).toContain("SessionEnd");
  });

  it("a record downloaded again on the next run is not stored again, readable or not", async () => {
    const source = kept(cdrText({}), cdrText({ SessionID: "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b", SessionEnd: undefined }));
    await backfill(source).run();
    const rows = async () =>
      (await Promise.all((["waiting", "rejected", "duplicate"] as const).map((s) => world.store.inboundInState(s, 100)))).flat();
    const before = await rows();
    expect(before).toHaveLength(2);

    world.clock.advance(10 * 60_000);
    expect(await backfill(source).run()).toEqual({ fetched: 2, stored: 0, rejected: 0 });
    expect(await rows()).toEqual(before);
  });

  it("a record pushed before is no new message when the back-fill downloads it", async () => {
    const text = cdrText({});
    await world.service.receive({ kind: "CDR", text, operatorId: "DE*ABC", receivedAt: later(60_000), source: "push" });
    expect(await backfill(kept(text)).run()).toEqual({ fetched: 1, stored: 0, rejected: 0 });
    expect(await world.store.inboundInState("duplicate", 10)).toEqual([]);
  });
});
