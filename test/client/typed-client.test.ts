// The typed client: the generated documents (src/client/generated/graphql.ts) used as a web or
// mobile app uses them, against a whole gateway. Queries and mutations over fetch, the
// subscription over graphql-ws. The types matter as much as the values: this file is
// type-checked (npx tsc -p tsconfig.json --noEmit), so a renamed field or a wrong variable in an
// operation fails the build, and the @ts-expect-error lines prove the documents are typed at all.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import WebSocket from "ws";
import * as generated from "../../src/client/generated/graphql.js";
import {
  type ChargingSessionFieldsFragment,
  type ChargingSessionStatus,
  EvseDocument,
  type EvseStatus,
  MySessionsDocument,
  OneSessionDocument,
  SessionUpdatedDocument,
  type SessionUpdatedSubscription,
  StartChargingDocument,
  type StartChargingMutation,
  StopChargingDocument,
} from "../../src/client/generated/graphql.js";
import { execute, iterate, OperationError, type ResultOf, request, subscribe, type VariablesOf } from "../../src/client/transport.js";
import { driver, startTestGateway, subscribed, type TestDriver, type TestGateway } from "../support/gateway.js";
import { Arrivals } from "../support/wait.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EVCO = "DE-GQL-C00000001-7";

let gw: TestGateway;
let alice: TestDriver;
let ws: Client;
const http = () => ({ url: gw.gateway.graphqlUrl, token: alice.token });

beforeAll(async () => {
  gw = await startTestGateway();
  alice = await driver("typed-alice", [EVCO]);
  const connected = new Promise<void>((resolveConnected) => {
    ws = createClient({
      url: gw.gateway.websocketUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${alice.token}` },
      on: { connected: () => resolveConnected() },
    });
  });
  await connected;
});

afterAll(async () => {
  await ws?.dispose();
  await gw?.close();
});

/** Reads a typed event stream in the background; waitFor answers the first event (past or future) that matches. */
function record<T>(events: AsyncIterableIterator<T>) {
  const seen = new Arrivals<T>("matching event", (items) => `${items.length} seen`);
  void (async () => {
    try {
      for await (const event of events) seen.push(event);
    } catch (error) {
      seen.fail(error);
    }
  })();
  return {
    seen: seen.items,
    waitFor: (predicate: (event: T) => boolean, timeoutMs = 10_000): Promise<T> => seen.waitFor(predicate, timeoutMs),
    stop: () => events.return?.(),
  };
}

describe("the generated typed documents", () => {
  it("start a session, stream it to COMPLETED after a stop, all typed", async () => {
    // Subscribe before starting: every change to the driver's sessions, typed.
    const updates = await subscribed(gw.gateway, () => record(iterate(ws, SessionUpdatedDocument, {})));

    const started = await request(http(), StartChargingDocument, { input: { evseId: "DE*SIM*E0001*1", idempotencyKey: "typed-start-1" } });
    expectTypeOf(started).toEqualTypeOf<StartChargingMutation>();
    expect(started.startCharging.error).toBeNull();
    const session = started.startCharging.session;
    expect(session).not.toBeNull();
    const id: string = session!.id;
    const status: ChargingSessionStatus = session!.status;
    expect(["REQUESTED", "ACCEPTED"]).toContain(status);
    expect(session).toMatchObject({ evseId: "DE*SIM*E0001*1", evcoId: EVCO, origin: "APP", chargeDetailRecord: null });

    // Events for this session until it is charging with energy flowing.
    const charging = await updates.waitFor(
      (e) => e.sessionUpdated.id === id && e.sessionUpdated.status === "CHARGING" && (e.sessionUpdated.consumedEnergyKwh ?? 0) > 0,
    );
    expect(charging.sessionUpdated.chargingStartedAt).not.toBeNull();
    expect(Date.parse(charging.sessionUpdated.updatedAt)).not.toBeNaN();

    const stopped = await request(http(), StopChargingDocument, { input: { sessionId: id, idempotencyKey: "typed-stop-1" } });
    expect(stopped.stopCharging.error).toBeNull();
    expect(["STOP_REQUESTED", "CHARGING_ENDED", "COMPLETED"]).toContain(stopped.stopCharging.session?.status);

    const completed = (await updates.waitFor((e) => e.sessionUpdated.id === id && e.sessionUpdated.status === "COMPLETED")).sessionUpdated;
    await updates.stop();
    expect(completed.status).toBe("COMPLETED");
    const cdr = completed.chargeDetailRecord;
    expect(cdr).not.toBeNull();
    // Nullable in the schema, so in the type: Hubject forwards CDRs without energy or charging times.
    const kwh: number | null = cdr!.consumedEnergyKwh;
    expect(kwh).toBeGreaterThan(0);
    expect(completed.consumedEnergyKwh).toBe(kwh);
    // The exact decimal is what an invoice uses; the Float is the same figure for display.
    expect(Number(cdr!.consumedEnergyKwhDecimal)).toBe(kwh);
    expect(cdr!.anomalies).toEqual([]);
    expect(Date.parse(cdr!.chargingEnd!)).toBeGreaterThanOrEqual(Date.parse(cdr!.chargingStart!));
    expect(completed.figuresSource).toBe("CHARGE_DETAIL_RECORD");

    // The statuses seen, in order, only move forward.
    const order = ["REQUESTED", "ACCEPTED", "CHARGING", "STOP_REQUESTED", "CHARGING_ENDED", "COMPLETED"];
    const seen = updates.seen.filter((e) => e.sessionUpdated.id === id).map((e) => order.indexOf(e.sessionUpdated.status));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    // OneSession reads the same final state, with the charging point's live status.
    const one = await request(http(), OneSessionDocument, { id });
    expect(one.chargingSession).toMatchObject({ id, status: "COMPLETED", chargeDetailRecord: { consumedEnergyKwh: kwh } });
    const evseStatus: EvseStatus | undefined = one.chargingSession?.evse?.status;
    expect(evseStatus).toBe("AVAILABLE");
  });

  it("pages through MySessions and filters active ones", async () => {
    // A second session, left running: newest first.
    const second = await request(http(), StartChargingDocument, { input: { evseId: "DE*SIM*E0001*2" } });
    const secondId = second.startCharging.session!.id;

    const page1 = await request(http(), MySessionsDocument, { first: 1 });
    expect(page1.chargingSessions.edges.map((e) => e.node.id)).toEqual([secondId]);
    expect(page1.chargingSessions.pageInfo.hasNextPage).toBe(true);
    const page2 = await request(http(), MySessionsDocument, { first: 1, after: page1.chargingSessions.pageInfo.endCursor });
    expect(page2.chargingSessions.edges).toHaveLength(1);
    expect(page2.chargingSessions.edges[0]!.node.status).toBe("COMPLETED");
    expect(page2.chargingSessions.pageInfo.hasNextPage).toBe(false);

    const active = await request(http(), MySessionsDocument, { active: true });
    expect(active.chargingSessions.edges.map((e) => e.node.id)).toEqual([secondId]);

    // subscribe(): the callback form, scoped to one session.
    const events: ChargingSessionFieldsFragment[] = [];
    const { done } = await subscribed(gw.gateway, () => ({
      done: new Promise<void>((resolveDone, reject) => {
        const unsubscribe = subscribe(
          ws,
          SessionUpdatedDocument,
          { sessionId: secondId },
          {
            next: (data) => {
              events.push(data.sessionUpdated);
              if (data.sessionUpdated.status === "COMPLETED") {
                unsubscribe();
                resolveDone();
              }
            },
            error: reject,
          },
        );
      }),
    }));
    await request(http(), StopChargingDocument, { input: { sessionId: secondId } });
    await done;
    expect(events.every((e) => e.id === secondId)).toBe(true);
  });

  it("reads a charging point and reports GraphQL errors as typed results", async () => {
    const evse = await request(http(), EvseDocument, { id: "DE*SIM*E0001*4" });
    expect(evse.evse).toEqual({ id: "DE*SIM*E0001*4", status: "AVAILABLE", statusObservedAt: expect.any(String) });
    // When Hubject gave the status: just now, as nothing was cached.
    expect(Math.abs(Date.now() - Date.parse(evse.evse!.statusObservedAt))).toBeLessThan(60_000);

    // No token: the whole response, with the gateway's error code.
    const anonymous = await execute({ url: gw.gateway.graphqlUrl }, MySessionsDocument, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    await expect(request({ url: gw.gateway.graphqlUrl }, MySessionsDocument, {})).rejects.toMatchObject({
      name: "OperationError",
      code: "UNAUTHENTICATED",
    });
    await expect(request({ url: gw.gateway.graphqlUrl }, MySessionsDocument, {})).rejects.toBeInstanceOf(OperationError);
  });

  it("types results and variables from the operations (checked by tsc)", () => {
    expectTypeOf<ResultOf<typeof SessionUpdatedDocument>>().toEqualTypeOf<SessionUpdatedSubscription>();
    expectTypeOf<SessionUpdatedSubscription["sessionUpdated"]["status"]>().toEqualTypeOf<ChargingSessionStatus>();
    expectTypeOf<VariablesOf<typeof StartChargingDocument>["input"]["evseId"]>().toEqualTypeOf<string>();
    expectTypeOf<StartChargingMutation["startCharging"]["session"]>().toEqualTypeOf<ChargingSessionFieldsFragment | null>();

    const unchecked = () => {
      // @ts-expect-error evseId is required
      void request(http(), StartChargingDocument, { input: {} });
      // @ts-expect-error no such variable
      void request(http(), EvseDocument, { evseId: "DE*SIM*E0001*1" });
      // @ts-expect-error not a status
      const wrong: ChargingSessionStatus = "PAUSED";
      return wrong;
    };
    expect(typeof unchecked).toBe("function");
  });
});

describe("the generated module", () => {
  const operationsDir = join(root, "src", "client", "operations");

  it("exports one typed document per operation in src/client/operations", () => {
    const names = readdirSync(operationsDir)
      .filter((file) => file.endsWith(".graphql"))
      .flatMap((file) =>
        [...readFileSync(join(operationsDir, file), "utf8").matchAll(/^(?:query|mutation|subscription)\s+(\w+)/gm)].map((m) => m[1]!),
      );
    expect(names.sort()).toEqual(["Evse", "MySessions", "OneSession", "SessionUpdated", "StartCharging", "StopCharging"]);
    for (const name of names) {
      const document = (generated as Record<string, unknown>)[`${name}Document`];
      expect(String(document), name).toMatch(new RegExp(`^\\s*(query|mutation|subscription) ${name}\\b`));
    }
    // Fragments travel inside each document: a client sends the string as it is.
    expect(String(SessionUpdatedDocument)).toContain("fragment ChargingSessionFields on ChargingSession");
    expect(String(SessionUpdatedDocument)).toContain("fragment ChargeDetailRecordFields on ChargeDetailRecord");
  });

  it("needs nothing at run time: the compiled module and helpers import no package (a browser loads them as they are)", () => {
    for (const file of ["dist/src/client/generated/graphql.js", "dist/src/client/transport.js"]) {
      const compiled = readFileSync(join(root, file), "utf8");
      expect(compiled, file).not.toMatch(/^\s*import\s/m);
      expect(compiled, file).not.toMatch(/\brequire\(/);
    }
  });
});
