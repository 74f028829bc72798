// The operator's command for stored inbound messages (npm run -s inbound): list what needs a
// look, show one without full contract ids, re-apply once the cause is fixed, choose a CDR.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oicpInboundReader } from "../../src/oicp/inbound/parse.js";
import { redactBody, runInboundTool } from "../../src/operator/inbound-tool.js";
import { InboundMessages } from "../../src/sessions/inbound-messages.js";
import type { InboundReader } from "../../src/sessions/ports.js";
import { CONTRACT, HUBJECT_ID, later, newSession, openWorld, silentLogger, T0, type World } from "../sessions/support.js";
import { example } from "../support/examples.js";

let world: World;
let inbound: InboundMessages;
/** The reader the tool's use case reads with; a test may break it, as a reader bug would. */
let reader: InboundReader;
let lines: string[];

beforeEach(async () => {
  world = await openWorld();
  reader = oicpInboundReader;
  inbound = new InboundMessages({
    store: world.store,
    writer: world.service.writer,
    reader: { read: (...args) => reader.read(...args) },
    clock: world.clock,
    logger: silentLogger,
    matchWindowMs: 15 * 60_000,
  });
  lines = [];
});
afterEach(() => world.close());

const run = (...argv: string[]) => runInboundTool(argv, { store: world.store, inbound, out: (line) => lines.push(line) });
const cdrText = (fields: Record<string, unknown> = {}) => JSON.stringify({ ...example("14-charge-detail-record.request"), ...fields });
const deliver = (text: string) =>
  inbound.receive({ kind: "CDR", text, operatorId: "DE*ABC", receivedAt: later(3 * 3_600_000), source: "push" });
async function charging() {
  const created = await world.service.writer.create(newSession({ status: "CHARGING", hubjectSessionId: HUBJECT_ID, requestedAt: T0 }));
  if (!created) throw new Error("the session was not created");
  return created;
}

describe("npm run -s inbound", () => {
  it("lists a CDR that lacks what Hubject requires, and shows it without the full contract id", async () => {
    const refused = await deliver(cdrText({ SessionStart: undefined }));
    expect(refused.state).toBe("rejected");

    expect(await run("list")).toBe(0);
    expect(lines[0]).toMatch(/^SEQ\s+RECEIVED\s+TYPE\s+STATE\s+SESSIONID\s+EVSEID\s+PROBLEM$/);
    expect(lines[1]).toContain(`${refused.seq}`);
    expect(lines[1]).toContain("rejected");
    expect(lines[1]).toContain("SessionStart");
    expect(lines.join("\n")).not.toContain(CONTRACT);

    lines = [];
    expect(await run("show", String(refused.seq), "--body")).toBe(0);
    const shown = lines.join("\n");
    expect(shown).toContain(HUBJECT_ID);
    expect(shown).toContain("DE-DCB***");
    expect(shown).not.toContain(CONTRACT);

    lines = [];
    expect(await run("show", String(refused.seq), "--body", "--unredacted")).toBe(0);
    expect(lines.join("\n")).toContain(CONTRACT);
  });

  it("re-applies stored messages once their cause is fixed; the session completes", async () => {
    const session = await charging();
    reader = {
      read: () => {
        throw new Error("a reader bug");
      },
    };
    const refused = await deliver(cdrText());
    expect(refused).toMatchObject({ state: "rejected", problem: "the reader failed: a reader bug" });

    // Not fixed yet: the message stays on the list, the re-read is a copy of it.
    expect(await run("reapply", String(refused.seq))).toBe(0);
    expect(lines.at(-1)).toMatch(new RegExp(`^${refused.seq}: now message \\d+, rejected`));
    expect((await world.store.inbound(refused.seq))?.state).toBe("rejected");

    reader = oicpInboundReader; // the fix is deployed
    lines = [];
    expect(await run("reapply", "--state", "rejected")).toBe(0);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^${refused.seq}: now message \\d+, applied`))]);
    expect(await world.store.get(session.id)).toMatchObject({ status: "COMPLETED", chargeDetailRecord: { consumedEnergyKwh: "21.343" } });
    expect((await world.store.inbound(refused.seq))?.state).toBe("duplicate");

    lines = [];
    await run("list");
    expect(lines).toEqual(["nothing to look at"]);
  });

  it("lets the operator choose which of two different CDRs stands", async () => {
    const session = await charging();
    const first = await deliver(cdrText());
    const second = await deliver(cdrText({ ConsumedEnergy: 22.5, MeterValueEnd: 1257.067 }));
    expect([first.state, second.state]).toEqual(["applied", "conflict"]);
    expect((await world.store.get(session.id))?.chargeDetailRecord?.consumedEnergyKwh).toBe("21.343");

    await run("list", "--state", "conflict", "--json");
    expect(JSON.parse(lines[0]!)).toMatchObject({ seq: second.seq, state: "conflict", duplicateOf: first.seq, evcoId: "DE-DCB***" });

    lines = [];
    expect(await run("choose-cdr", String(second.seq))).toBe(0);
    expect(lines[0]).toBe(`message ${second.seq} stands for session ${session.id} (COMPLETED)`);
    expect((await world.store.get(session.id))?.chargeDetailRecord?.consumedEnergyKwh).toBe("22.5");
  });

  it("refuses what it cannot do, with the usage", async () => {
    expect(await run()).toBe(2);
    expect(await run("list", "--state", "lost")).toBe(2);
    expect(await run("show", "x1")).toBe(2);
    expect(await run("show", "999")).toBe(1);
    expect(lines.at(-1)).toBe("no stored message 999");
    expect(await run("reapply")).toBe(2);
    expect(lines.join("\n")).toContain("Usage: npm run -s inbound");
  });
});

describe("redactBody", () => {
  it("shortens contract ids, card numbers and PIN hashes, and keeps the rest as received", () => {
    const text =
      '{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD99"}},"EvcoID" : "DE-DCB-C12345678-X","EvseID":"DE*ABC*E1234*1"}';
    expect(redactBody(text)).toBe(
      '{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234AB***"}},"EvcoID" : "DE-DCB***","EvseID":"DE*ABC*E1234*1"}',
    );
  });
});
