// IdentificationRegistry on the real store, the way the gateway runs it: every test runs on a
// SQLite file of its own and on a PostgreSQL schema of its own (test/store/pg-support.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { credentialKey, type IdentificationInput } from "../../src/identifications/identification.js";
import type { IdentificationStore, RegistryChanges } from "../../src/identifications/ports.js";
import { IdentificationRegistry, type RegistrationOutcome, RegistryError } from "../../src/identifications/registry.js";
import { createLogger } from "../../src/logger.js";
import { createInProcessRegistryChanges } from "../../src/pubsub/registry-changes.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { createTestSchema, postgresAvailable } from "../store/pg-support.js";

await postgresAvailable();

const ALICE_EVCO = "DE-GQL-C00000001-7";
const BOB_EVCO = "DE-GQL-C00000002-5";
const CARD = "04A2B3C4D5E6F7";
const PIN = "4711";

const card = (overrides: Partial<IdentificationInput> = {}): IdentificationInput => ({
  driverId: "alice",
  evcoId: ALICE_EVCO,
  type: "RFID",
  uid: CARD,
  rfidType: "mifareDes",
  printedNumber: "GQL-0001",
  expiresAt: new Date("2030-01-01T00:00:00Z"),
  ...overrides,
});
const qr = (overrides: Partial<IdentificationInput> = {}): IdentificationInput => ({
  driverId: "alice",
  evcoId: ALICE_EVCO,
  type: "QR_CODE",
  pin: PIN,
  ...overrides,
});

/** The real store with some methods replaced (the others keep working on the same database). */
function storeWith(store: SqlSessionStore, overrides: Partial<IdentificationStore>): IdentificationStore {
  return Object.assign(Object.create(store.identifications) as IdentificationStore, overrides);
}

function ok(outcome: RegistrationOutcome | undefined) {
  if (!outcome?.ok) throw new Error(`expected a registration, got ${JSON.stringify(outcome)}`);
  return outcome;
}

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`the identifications registry on ${engine}`, () => {
    let store: SqlSessionStore;
    let registry: IdentificationRegistry;
    let changes: RegistryChanges;
    let published: Array<readonly string[] | null>;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      if (engine === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "identifications-"));
        store = openSqlStore({ url: join(dir, "gateway.sqlite") });
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const schema = await createTestSchema();
        store = openSqlStore({ url: schema.url, poolSize: 3 });
        cleanup = () => schema.drop();
      }
      await store.migrate();
      changes = createInProcessRegistryChanges();
      published = [];
      changes.subscribe((keys) => published.push(keys));
      registry = new IdentificationRegistry({
        store: store.identifications,
        changes,
        clock: { now: () => new Date() },
        logger: createLogger({ level: "silent" }),
        pinHashCost: 4,
        cache: { maxEntries: 100, ttlMs: 60_000 },
      });
    });
    afterEach(async () => {
      registry.close();
      await changes.close();
      await store.close();
      await cleanup();
    });

    it("registers every form, and registering the same again changes nothing", async () => {
      const inputs = [
        card(),
        { driverId: "alice", evcoId: ALICE_EVCO, type: "RFID_MIFARE_FAMILY", uid: "0A1B2C3D" } as const,
        qr(),
        { driverId: "alice", evcoId: "DE-GQL-C00000003-1", type: "PLUG_AND_CHARGE" } as const,
      ];
      const first = await registry.register(inputs);
      expect(first.map((o) => ok(o).change)).toEqual(["created", "created", "created", "created"]);
      const again = await registry.register(inputs);
      expect(again.map((o) => ok(o).change)).toEqual(["unchanged", "unchanged", "unchanged", "unchanged"]);
      expect(again.map((o) => ok(o).identification.version)).toEqual(first.map((o) => ok(o).identification.version));

      const { identifications } = await registry.list({ driverId: "alice", first: 10 });
      expect(identifications).toHaveLength(4);
      expect(await registry.find(credentialKey("RFID", { uid: CARD })!)).toMatchObject({ driverId: "alice", rfidType: "mifareDes" });
      // The same card written another way (lower case, separators) is the same card.
      expect(ok((await registry.register([card({ uid: "04:a2:b3:c4:d5:e6:f7" })]))[0]).change).toBe("unchanged");
    });

    it("updates a registration in place and tells every replica which credential changed", async () => {
      const created = ok((await registry.register([card()]))[0]).identification;
      published = [];
      const updated = ok((await registry.register([card({ printedNumber: "GQL-0002" })]))[0]);
      expect(updated.change).toBe("updated");
      expect(updated.identification).toMatchObject({ id: created.id, printedNumber: "GQL-0002", version: created.version + 1 });
      expect(published).toEqual([[credentialKey("RFID", { uid: CARD })]]);
    });

    it("refuses another driver's card, and reports each problem by field without the PIN", async () => {
      await registry.register([card()]);
      const [taken, badUid, badQr] = await registry.register([
        card({ driverId: "bob", evcoId: BOB_EVCO }),
        card({ uid: "XYZ", rfidType: null }),
        qr({ pin: "12 34", evcoId: "not-an-evco" }),
      ]);
      expect(taken).toEqual({ ok: false, problems: ["uid/evco_id: already registered to another driver"] });
      expect(badUid?.ok).toBe(false);
      expect(!badUid?.ok && badUid?.problems.join("\n")).toMatch(/^uid: .*\nrfid_type: /);
      expect(!badQr?.ok && badQr?.problems.join("\n")).toMatch(/evco_id: .*\npin: /);
      expect(JSON.stringify(badQr)).not.toContain("12 34");
      expect((await registry.find(credentialKey("RFID", { uid: CARD })!))?.driverId).toBe("alice");
    });

    it("keeps a batch all or nothing: a failing write leaves none of it", async () => {
      await registry.register([card()]);
      // Two new cards, then a write the store refuses.
      const failing = new IdentificationRegistry({
        store: storeWith(store, {
          // A last record with the first one's id: the primary key refuses it, in the same transaction.
          saveIdentifications: (records, now) =>
            store.identifications.saveIdentifications(
              [...records, { ...records[0]!, uid: null, evcoId: "DE-GQL-C00000009-X", type: "QR_CODE" }],
              now,
            ),
        }),
        changes,
        clock: { now: () => new Date() },
        logger: createLogger({ level: "silent" }),
        pinHashCost: 4,
        cache: { maxEntries: 0, ttlMs: 0 },
      });
      await expect(
        failing.register([
          card({ uid: "0A0B0C0D", type: "RFID_MIFARE_FAMILY", rfidType: null }),
          card({ uid: "0A0B0C0E", type: "RFID_MIFARE_FAMILY", rfidType: null }),
        ]),
      ).rejects.toThrow();
      failing.close();
      const { identifications } = await registry.list({ first: 10 });
      expect(identifications.map((i) => i.uid)).toEqual([CARD]);
    });

    it("never unblocks on a re-registration; an explicit status does", async () => {
      const created = ok((await registry.register([card()]))[0]).identification;
      const blocked = await registry.block(created.id, { driverId: "alice", role: "DRIVER" });
      expect(blocked).toMatchObject({ status: "BLOCKED", blockedBy: "DRIVER" });
      const again = ok((await registry.register([card()]))[0]);
      expect(again.change).toBe("unchanged");
      expect(again.identification).toMatchObject({ status: "BLOCKED", blockedBy: "DRIVER" });
      const updated = ok((await registry.register([card({ printedNumber: "GQL-0003" })]))[0]);
      expect(updated.identification).toMatchObject({ status: "BLOCKED", blockedBy: "DRIVER" });
      const unblocked = ok((await registry.register([card({ printedNumber: "GQL-0003", status: "ACTIVE" })]))[0]);
      expect(unblocked.identification).toMatchObject({ status: "ACTIVE", blockedBy: null });
    });

    it("blocks: a driver only their own, at once through the cache; only an operator unblocks", async () => {
      const created = ok((await registry.register([card()]))[0]).identification;
      const key = credentialKey("RFID", { uid: CARD })!;
      expect((await registry.find(key))?.status).toBe("ACTIVE"); // now cached

      await expect(registry.block(created.id, { driverId: "bob", role: "DRIVER" })).rejects.toMatchObject({ reason: "NOT_FOUND" });
      await expect(registry.block("no-such-id", { driverId: "alice", role: "DRIVER" })).rejects.toMatchObject({ reason: "NOT_FOUND" });
      await registry.block(created.id, { driverId: "alice", role: "DRIVER" });
      expect((await registry.find(key))?.status).toBe("BLOCKED");

      await expect(registry.setStatus(created.id, "ACTIVE", { driverId: "alice", role: "DRIVER" })).rejects.toMatchObject({
        reason: "FORBIDDEN",
      });
      const active = await registry.setStatus(created.id, "ACTIVE", { driverId: "op", role: "OPERATOR" });
      expect(active).toMatchObject({ status: "ACTIVE", blockedBy: null });
      expect((await registry.find(key))?.status).toBe("ACTIVE");
      const expired = await registry.setStatus(created.id, "EXPIRED", { driverId: "op", role: "OPERATOR" });
      expect(expired.status).toBe("EXPIRED");
    });

    it("setStatus retries when someone else changed it first, and gives up with CONFLICT", async () => {
      const created = ok((await registry.register([card()]))[0]).identification;
      // Another replica writes between every read and write of this one.
      let interference = 0;
      const racing = new IdentificationRegistry({
        store: storeWith(store, {
          setIdentificationStatus: async (id, change, now) => {
            interference++;
            const current = await store.identifications.identification(id);
            await store.identifications.setIdentificationStatus(
              id,
              { status: current!.status === "EXPIRED" ? "ACTIVE" : "EXPIRED", blockedBy: null, expectedVersion: current!.version },
              now,
            );
            return store.identifications.setIdentificationStatus(id, change, now);
          },
        }),
        changes,
        clock: { now: () => new Date() },
        logger: createLogger({ level: "silent" }),
        pinHashCost: 4,
        cache: { maxEntries: 0, ttlMs: 0 },
      });
      const error = await racing.setStatus(created.id, "BLOCKED", { driverId: "op", role: "OPERATOR" }).catch((e: unknown) => e);
      racing.close();
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({ reason: "CONFLICT" });
      expect(interference).toBe(10);
      expect((await registry.identification(created.id))?.status).not.toBe("BLOCKED");

      // Without interference the conditional write goes through.
      const blocked = await registry.setStatus(created.id, "BLOCKED", { driverId: "op", role: "OPERATOR" });
      expect(blocked).toMatchObject({ status: "BLOCKED", blockedBy: "OPERATOR" });
    });

    it("keeps a QR code's PIN only as a Bcrypt hash, checks it, and re-registering the same PIN keeps the hash", async () => {
      const created = ok((await registry.register([qr()]))[0]).identification;
      expect(created.pinHash).toMatch(/^\$2[aby]\$04\$/);
      expect(created.pinHash).not.toContain(PIN);
      expect(await registry.verifyPin(created, PIN)).toBe(true);
      expect(await registry.verifyPin(created, "0000")).toBe(false);
      // Twice: the second check is remembered, with the same answer.
      expect(await registry.verifyPin(created, PIN)).toBe(true);

      expect(ok((await registry.register([qr()]))[0]).change).toBe("unchanged");
      const changed = ok((await registry.register([qr({ pin: "9999" })]))[0]);
      expect(changed.change).toBe("updated");
      expect(await registry.verifyPin(changed.identification, PIN)).toBe(false);
      expect(await registry.verifyPin(changed.identification, "9999")).toBe(true);

      const hash = await bcrypt.hash("2468", 4);
      const imported = ok((await registry.register([qr({ evcoId: "DE-GQL-C00000004-9", pin: null, pinHash: hash })]))[0]);
      expect(imported.identification.pinHash).toBe(hash);
      expect(await registry.verifyPin(imported.identification, "2468")).toBe(true);
    });

    it("lists a page at a time in id order, one driver's or everyone's", async () => {
      const uids = ["0A000001", "0A000002", "0A000003"];
      await registry.register(uids.map((uid) => card({ uid, type: "RFID_MIFARE_FAMILY", rfidType: null })));
      await registry.register([card({ driverId: "bob", evcoId: BOB_EVCO, uid: "0B000001", type: "RFID_MIFARE_FAMILY", rfidType: null })]);
      const first = await registry.list({ driverId: "alice", first: 2 });
      expect(first.hasNextPage).toBe(true);
      const second = await registry.list({ driverId: "alice", first: 2, after: first.identifications.at(-1)!.id });
      expect(second.hasNextPage).toBe(false);
      expect([...first.identifications, ...second.identifications].map((i) => i.uid).sort()).toEqual(uids);
      expect((await registry.list({ first: 10 })).identifications).toHaveLength(4);
    });
  });
}
