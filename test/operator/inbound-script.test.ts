// The command itself, as an operator runs it (node dist/src/scripts/inbound.js, what
// `npm run -s inbound` runs after the build): it opens the gateway's store from DATABASE_URL and
// lists what a gateway stored there, without the full contract id.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";
import { example } from "../support/examples.js";
import { startTestGateway } from "../support/gateway.js";

const root = resolve(import.meta.dirname, "..", "..");
const dataDir = mkdtempSync(join(tmpdir(), "emp-inbound-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const run = (...args: string[]) =>
  execFileSync(process.execPath, [resolve(root, "dist/src/scripts/inbound.js"), ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NODE_ENV: "test", DATABASE_URL: join(dataDir, "gateway.sqlite"), LOG_LEVEL: "silent" },
  });

it("lists the CDR a gateway refused, by its SessionID and problem, and shows it shortened", async () => {
  const gw = await startTestGateway({ dataDir });
  const cdr = { ...(example("14-charge-detail-record.request") as { SessionID: string }), SessionEnd: null };
  const { body } = await gw.postOicp("/api/oicp/cdrmgmt/v22/operators/DE*SIM/charge-detail-record", cdr);
  expect(body).toMatchObject({ Result: false, StatusCode: { Code: "022" } });
  await gw.close();

  const listed = run("list");
  expect(listed).toMatch(/^SEQ\s+RECEIVED/);
  expect(listed).toContain(cdr.SessionID);
  expect(listed).toContain("SessionEnd");
  const seq = /\n(\d+)\s/.exec(listed)?.[1];
  const shown = run("show", seq!, "--body");
  expect(shown).toContain("DE-DCB***");
  expect(shown).not.toContain("DE-DCB-C12345678-X");
});
