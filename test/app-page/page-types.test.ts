// The page's script (src/app-page/public/app.js) is plain JavaScript for the browser, outside the
// Node project's tsc run. src/app-page/tsconfig.json type-checks it with the DOM library against
// the generated client types, so that a changed operation breaks this test, not a driver's page.
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

it("the page's script type-checks against the generated client", () => {
  let output = "";
  let status = 0;
  try {
    execFileSync(resolve(root, "node_modules", ".bin", "tsc"), ["-p", "src/app-page/tsconfig.json"], {
      cwd: root,
      stdio: "pipe",
      encoding: "utf8",
    });
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    status = failed.status;
    output = `${failed.stdout}${failed.stderr}`;
  }
  expect(status, output).toBe(0);
}, 120_000);
