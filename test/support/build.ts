// vitest globalSetup: builds dist/ once, before any test file runs. The schema check runs
// GraphQL Code Generator on it and the crash test starts gateways from it as real processes;
// building per file would have two tsc processes writing the same files at once.
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export default function setup() {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  execFileSync(resolve(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
