import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** ../shared beside the repository (CI clones it there). */
export const SHARED_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared");

/** One of the realistic OICP payloads in ../shared/oicp/examples, parsed. */
export function example(name: string): Record<string, any> {
  return JSON.parse(readFileSync(resolve(SHARED_DIR, "oicp", "examples", `${name}.json`), "utf8")) as Record<string, any>;
}
