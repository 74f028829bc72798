// docs/oicp.md is the project's own protocol reference: every anchor the code, tests and docs
// cite must exist there, and no anchor may be defined twice.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const notes = readFileSync(join(root, "docs", "oicp.md"), "utf8");
const anchors = [...notes.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "generated" || name.startsWith(".")) return [];
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mjs|js|md)$/.test(name) ? [path] : [];
  });
}

describe("docs/oicp.md", () => {
  it("defines each anchor once", () => {
    expect(anchors.length).toBeGreaterThan(50);
    expect(anchors.filter((a, i) => anchors.indexOf(a) !== i)).toEqual([]);
  });

  it("has every anchor that is cited", () => {
    const known = new Set(anchors);
    const missing: string[] = [];
    for (const file of [
      ...files(join(root, "src")),
      ...files(join(root, "test")),
      ...files(join(root, "bench")),
      join(root, "README.md"),
    ]) {
      const text = readFileSync(file, "utf8");
      // "docs/oicp.md" then one or more "#anchor", separated by ", ", " and " or " to ".
      for (const citation of text.matchAll(/docs\/oicp\.md((?:#[a-z0-9-]+(?:,? (?:and |to )?)?)+)/g)) {
        for (const anchor of citation[1]!.matchAll(/#([a-z0-9-]+)/g)) {
          if (!known.has(anchor[1]!)) missing.push(`${relative(root, file)}: #${anchor[1]}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
