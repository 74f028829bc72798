// Offline composition (what `rover supergraph compose` / a schema registry checks before any
// router sees the schema): our subgraph SDL, exactly as `npm run schema:subgraph` prints it, with
// a small accounts subgraph that owns Driver. Any composition error fails; so does any hint whose
// code is not in support.ts's short ALLOWED_HINT_CODES.
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ACCOUNTS_SDL, compose, empSubgraphSdl } from "./support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("composition with an accounts subgraph", () => {
  it("composes without errors and without hints that matter", async () => {
    const sdl = await empSubgraphSdl();
    const { supergraphSdl } = compose([
      { name: "emp", url: "http://emp.internal:4000/graphql", sdl },
      { name: "accounts", url: "http://accounts.internal:4000/graphql", sdl: ACCOUNTS_SDL },
    ]);
    // Driver is one entity with fields from both subgraphs; the app API is all there.
    expect(supergraphSdl).toMatch(/type Driver\s+@join__type\(graph: ACCOUNTS, key: "id"\)\s+@join__type\(graph: EMP, key: "id"\)/);
    expect(supergraphSdl).toMatch(/type Driver[^}]*chargingSessions\([^)]*\): ChargingSessionConnection! @join__field\(graph: EMP\)/);
    expect(supergraphSdl).toMatch(/name: String! @join__field\(graph: ACCOUNTS\)/);
    for (const field of ["startCharging(", "stopCharging(", "chargingSession(", "chargingSessions(", "evse(", "sessionUpdated(", "me:"]) {
      expect(supergraphSdl).toContain(field);
    }
  });

  it("fails on a hint outside the allow-list (the policy itself works)", async () => {
    // Driver.id nullable in accounts, non-null here: composes, with an
    // INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE hint, which must not pass silently.
    const looser = ACCOUNTS_SDL.replace("id: ID!", "id: ID");
    const sdl = await empSubgraphSdl();
    expect(() =>
      compose([
        { name: "emp", url: "http://emp.internal:4000/graphql", sdl },
        { name: "accounts", url: "http://accounts.internal:4000/graphql", sdl: looser },
      ]),
    ).toThrow(/composition hints that matter:[\s\S]*INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE/);
  });

  it("npm run schema:subgraph prints the same SDL, with @link and @key", async () => {
    // dist/ was built by test/support/build.ts (vitest globalSetup).
    const printed = execFileSync(process.execPath, [resolve(root, "dist/src/scripts/print-subgraph.js")], { cwd: root, encoding: "utf8" });
    expect(printed.trim()).toBe((await empSubgraphSdl()).trim());
    expect(printed).toMatch(/^extend schema\s+@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.3", import: \["@key"\]\)/);
    expect(printed).toMatch(/type ChargingSession\s+@key\(fields: "id"\)/);
    expect(printed).not.toContain("_entities"); // the router adds those; the SDL only declares ours
  });
});
