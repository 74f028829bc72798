// schema.graphql is reviewed like code: GraphQL Code Generator (codegen.yml) writes it from the
// schema the gateway builds. This runs the real generator in --check mode: it fails when the
// committed file differs from what `npm run codegen` would write.
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => resolve(root, "node_modules", ".bin", name);

it("the committed schema.graphql matches the schema the code builds", () => {
  // dist/ was built from the current code by test/support/build.ts (vitest globalSetup).
  let output = "";
  let status = 0;
  try {
    output = execFileSync(bin("graphql-codegen"), ["--config", "codegen.yml", "--check"], { cwd: root, stdio: "pipe", encoding: "utf8" });
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    status = failed.status;
    output = `${failed.stdout}${failed.stderr}`;
  }
  expect(status, `schema.graphql or src/client/generated is stale: run \`npm run codegen\` and commit them.\n${output}`).toBe(0);
}, 120_000);
