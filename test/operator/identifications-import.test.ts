// The bulk import as an operator runs it (node dist/src/scripts/identifications-import.js, what
// `npm run -s identifications:import -- FILE.csv` runs after the build): on the gateway's store
// from DATABASE_URL, each bad row reported by line, the good ones imported, a re-run changing
// nothing, and with REDIS_URL the changes announced to the running replicas.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { createRedisRegistryChanges } from "../../src/pubsub/registry-changes.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import { REDIS_URL, untilSubscribed } from "../support/redis.js";
import { Arrivals } from "../support/wait.js";

const root = resolve(import.meta.dirname, "..", "..");
const dataDir = mkdtempSync(join(tmpdir(), "emp-identifications-import-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const PIN = "Qk48zr2Tn";
let database: string;
let n = 0;

beforeEach(() => {
  database = join(dataDir, `gateway-${++n}.sqlite`);
});

function csv(name: string, text: string): string {
  const file = join(dataDir, name);
  writeFileSync(file, text);
  return file;
}

/** Runs the built script; resolves with its exit code and what it printed. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [resolve(root, "dist/src/scripts/identifications-import.js"), ...args],
      { cwd: root, encoding: "utf8", env: { ...process.env, NODE_ENV: "test", DATABASE_URL: database, LOG_LEVEL: "warn", ...env } },
      (error, out, err) => done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

async function stored() {
  const store = openSqlStore({ url: database });
  try {
    return (await store.identifications.listIdentifications({ first: 500 })).identifications;
  } finally {
    await store.close();
  }
}

const MIXED = [
  "driver,evco_id,type,uid,rfid_type,printed_number,expires_at,pin,status",
  'alice,DE-GQL-C00000001-7,RFIDIdentification,04A2B3C4D5E6F7,mifareDes,"GQL, card ""one""",2031-01-01T00:00:00Z,,',
  "alice,DE-GQL-C00000001-7,qrcodeidentification,,,,,Qk48zr2Tn,",
  "bob,DE-GQL-C00000002-5,RFID_MIFARE_FAMILY,XYZ,,,,,",
  // A quoted field over two lines: the next record starts two lines further on.
  'bob,DE-GQL-C00000002-5,rfid_mifare_family,0B1C2D3E,,"printed\nover two lines",,,',
  "carol,not-a-contract,QR_CODE,,,,,Qk48zr2Tn x,",
  "carol,DE-GQL-C00000003-1,PlugAndChargeIdentification,,,,2020-13-45,,",
  "dave,DE-GQL-C00000004-9,Badge,,,,,,",
  "erin,DE-GQL-C00000005-3,RFID_MIFARE_FAMILY,04a2b3c4d5e6f7,,,,,",
  "frank,DE-GQL-C00000004-9,PLUG_AND_CHARGE,,,,,,BLOCKED",
  "short,row",
  "",
].join("\n");

describe("npm run -s identifications:import", () => {
  it("reports each bad row by line, imports the good ones, and a re-run changes nothing", async () => {
    const file = csv("mixed.csv", MIXED);
    const first = await run([file]);
    expect(first.code, first.out + first.err).toBe(1);
    const lines = first.out.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^line 4: uid: /),
      expect.stringMatching(/^line 7: evco_id: .*; pin: /),
      expect.stringMatching(/^line 8: expires_at: /),
      expect.stringMatching(/^line 9: type: "Badge" is not one of /),
      "line 10: uid/evco_id: the same credential as line 2",
      "line 12: has 2 fields, the header has 9",
      "imported: 4 created, 0 updated, 0 unchanged, 6 bad (10 rows)",
    ]);
    expect(first.out + first.err).not.toContain(PIN);

    const rows = await stored();
    expect(rows.map((r) => [r.driverId, r.type, r.uid, r.status]).sort()).toEqual([
      ["alice", "QR_CODE", null, "ACTIVE"],
      ["alice", "RFID", "04A2B3C4D5E6F7", "ACTIVE"],
      ["bob", "RFID_MIFARE_FAMILY", "0B1C2D3E", "ACTIVE"],
      ["frank", "PLUG_AND_CHARGE", null, "BLOCKED"],
    ]);
    expect(rows.find((r) => r.type === "RFID")?.printedNumber).toBe('GQL, card "one"');
    expect(rows.find((r) => r.driverId === "bob")?.printedNumber).toBe("printed\nover two lines");
    const qr = rows.find((r) => r.type === "QR_CODE")!;
    expect(qr.pinHash).toMatch(/^\$2[aby]\$/);
    expect(qr.pinHash).not.toContain(PIN);

    const again = await run([file]);
    expect(again.code).toBe(1);
    expect(again.out.trim().split("\n").at(-1)).toBe("imported: 0 created, 0 updated, 4 unchanged, 6 bad (10 rows)");
    expect((await stored()).map((r) => [r.id, r.version])).toEqual(rows.map((r) => [r.id, r.version]));
  });

  it("exits 0 when every row is good, in batches, and reports what an edited file updates", async () => {
    const header = "driver,evco_id,type,uid,printed_number";
    const body = Array.from(
      { length: 7 },
      (_, i) => `d${i},DE-GQL-C0000000${i}-X,RFID_MIFARE_FAMILY,0A0B0C${String(i).padStart(2, "0")},P${i}`,
    );
    const file = csv("good.csv", `${header}\r\n${body.join("\r\n")}\r\n`);
    const first = await run([file, "--batch-size", "3"]);
    expect(first.code, first.out + first.err).toBe(0);
    expect(first.out.trim()).toBe("imported: 7 created, 0 updated, 0 unchanged, 0 bad (7 rows)");
    const edited = csv("edited.csv", `${header}\n${body.map((row, i) => (i === 2 ? row.replace(/P2$/, "P2-new") : row)).join("\n")}`);
    const second = await run([edited, "--batch-size", "3"]);
    expect(second.code).toBe(0);
    expect(second.out.trim()).toBe("imported: 0 created, 1 updated, 6 unchanged, 0 bad (7 rows)");
    expect((await stored()).find((r) => r.driverId === "d2")?.printedNumber).toBe("P2-new");
  });

  it("exits 2 and writes nothing when the file is unusable", async () => {
    const missing = await run([join(dataDir, "nope.csv")]);
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/nope\.csv: no such file/);

    const noUid = await run([csv("no-uid.csv", "driver,evco_id,type\nalice,DE-GQL-C00000001-7,PLUG_AND_CHARGE\n")]);
    expect(noUid.code).toBe(2);
    expect(noUid.out).toMatch(/the header has no uid column/);

    const misspelt = await run([csv("misspelt.csv", "driver,evco_id,type,uid,pin_hsh\nalice,DE-GQL-C00000001-7,PLUG_AND_CHARGE,,\n")]);
    expect(misspelt.code).toBe(2);
    expect(misspelt.out).toMatch(/unknown column "pin_hsh"/);

    const unclosed = await run([csv("unclosed.csv", `driver,evco_id,type,uid,pin\nalice,DE-GQL-C00000001-7,QR_CODE,,"${PIN}\n`)]);
    expect(unclosed.code).toBe(2);
    expect(unclosed.out).toMatch(/line 2: a quoted field is not closed/);
    expect(unclosed.out).not.toContain(PIN);

    expect((await run([])).code).toBe(2);
    expect(await stored()).toEqual([]);
  });

  it("with REDIS_URL, tells the running replicas which credentials changed, and exits", async () => {
    const channelPrefix = `import-${process.pid}-${Date.now()}:`;
    const replica = createRedisRegistryChanges({ url: REDIS_URL, channelPrefix, logger: createLogger({ level: "silent" }) });
    const heard = new Arrivals<readonly string[] | null>();
    replica.subscribe((keys) => heard.push(keys));
    try {
      await untilSubscribed(`${channelPrefix}identifications:changed`);
      const file = csv("redis.csv", "driver,evco_id,type,uid\nalice,DE-GQL-C00000001-7,RFID_MIFARE_FAMILY,0C0D0E0F\n");
      const result = await run([file], { REDIS_URL, REDIS_CHANNEL_PREFIX: channelPrefix });
      expect(result.code, result.out + result.err).toBe(0);
      expect(result.out.trim()).toBe("imported: 1 created, 0 updated, 0 unchanged, 0 bad (1 row)");
      expect(await heard.waitFor((keys) => keys?.includes("UID:0C0D0E0F") ?? false)).toEqual(["UID:0C0D0E0F"]);
    } finally {
      await replica.close();
    }
  });
});
