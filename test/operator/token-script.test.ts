// npm run -s token as a developer runs it (issue 16): --help, clear refusals of a bad --sub or
// EvcoID (no stack trace), and only the token on stdout, so TOKEN=$(npm run -s token -- …) works.
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const script = resolve(root, "dist/src/scripts/token.js");
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "development", AUTH_JWT_SECRET: "" },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe("npm run -s token", () => {
  it("--help prints the options and exits 0", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--sub");
    expect(stdout).toContain("--evco");
  });

  it("prints the token alone, with the claims asked for", async () => {
    const { code, stdout } = await run(["--sub", "alice", "--evco", "DE-GQL-C00000001-7", "--role", "emp-operator"]);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    expect(decodeJwt(stdout.trim())).toMatchObject({ sub: "alice", evco_ids: ["DE-GQL-C00000001-7"], roles: ["emp-operator"] });
  });

  it.each([
    [["--evco", "DE-GQL-C00000001-7"], /--sub is required/],
    [["--sub", "alice", "--evco", "DE-GQL-1"], /"DE-GQL-1" is not an EvcoID/],
    [["--sub", "alice", "--bogus"], /Unknown option '--bogus'/],
    [["--sub", "alice", "--ttl", "soon"], /--ttl/],
  ])("%j is refused with a clear message, exit 1, no stack trace", async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
