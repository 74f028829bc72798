import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The OICP example payloads kept with the tests (test/fixtures/oicp, described in its README). */
export const OICP_EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "oicp");

/** One of the example payloads, parsed; `name` with or without ".json" ("05-notification-start.request"). */
export function example(name: string): Record<string, any> {
  const file = name.endsWith(".json") ? name : `${name}.json`;
  return JSON.parse(readFileSync(resolve(OICP_EXAMPLES_DIR, file), "utf8")) as Record<string, any>;
}
