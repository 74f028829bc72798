// What an operator relies on: health and readiness on both listeners, Prometheus metrics, request
// ids carried down to the Hubject call, and a graceful shutdown that finishes in-flight mutations
// and tells websocket clients to reconnect (1012).

import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { driver, SESSION_UPDATED, START, STOP, startTestGateway, subscribed } from "../support/gateway.js";
import { eventually } from "../support/wait.js";

const base = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, "");

describe("operations", () => {
  it("answers /healthz and /readyz on both listeners", async () => {
    const gw = await startTestGateway();
    try {
      for (const root of [base(gw.gateway.graphqlUrl), gw.gateway.oicpUrl]) {
        expect((await fetch(`${root}/healthz`)).status).toBe(200);
        const ready = await fetch(`${root}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({ status: "ready", checks: { store: "ok", pubsub: "ok", hubjectCircuit: "closed" } });
      }
    } finally {
      await gw.close();
    }
  });

  it("is not ready when its store is gone", async () => {
    const gw = await startTestGateway();
    try {
      await gw.gateway.store.close();
      const ready = await fetch(`${base(gw.gateway.graphqlUrl)}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { store: string } }).checks.store).toBe("failing");
    } finally {
      await gw.close().catch(() => undefined);
    }
  });

  it("exports Prometheus metrics for requests, Hubject calls, outcomes, time to CHARGING, subscriptions and notification lag", async () => {
    const gw = await startTestGateway();
    try {
      const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
      const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
      const { body } = await gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token);
      const id = body.data.startCharging.session.id;
      await gw.graphql(START, { input: { evseId: "DE*SIM*E0602*1" } }, alice.token); // refused: 602
      await watch.waitFor((s) => s.id === id && s.status === "CHARGING" && s.consumedEnergyKwh > 0);
      const during = await (await fetch(`${base(gw.gateway.graphqlUrl)}/metrics`)).text();
      expect(during).toMatch(/^gateway_open_subscriptions 1$/m);

      await gw.graphql(STOP, { input: { sessionId: id } }, alice.token);
      await watch.waitFor((s) => s.id === id && s.status === "COMPLETED");
      await watch.dispose();
      // The gateway counts the subscription closed once it has handled the socket's close.
      await eventually(
        async () => (await gw.gateway.metrics!.openSubscriptions.get()).values[0]?.value === 0,
        "the gateway to see the subscription closed",
      );
      const text = await (await fetch(`${base(gw.gateway.graphqlUrl)}/metrics`)).text();
      expect(text).toMatch(/^gateway_remote_start_outcomes_total\{outcome="ACCEPTED"\} 1$/m);
      expect(text).toMatch(/^gateway_remote_start_outcomes_total\{outcome="EVSE_IN_USE"\} 1$/m);
      expect(text).toMatch(/^gateway_hubject_calls_total\{operation="AuthorizeRemoteStart",outcome="200",oicp_code="000"\} 1$/m);
      expect(text).toMatch(/^gateway_hubject_calls_total\{operation="AuthorizeRemoteStart",outcome="200",oicp_code="602"\} 1$/m);
      expect(text).toMatch(/^gateway_hubject_calls_total\{operation="AuthorizeRemoteStop",outcome="200",oicp_code="000"\} 1$/m);
      expect(text).toMatch(/^gateway_start_to_charging_seconds_count 1$/m);
      expect(text).toMatch(/^gateway_notification_lag_seconds_count\{type="Progress"\} [1-9]/m);
      expect(text).toMatch(/^gateway_inbound_messages_total\{type="CDR",result="stored"\} 1$/m);
      expect(text).toMatch(/^gateway_graphql_requests_total\{transport="http",operation_type="mutation",outcome="ok"\} [3-9]/m);
      expect(text).toMatch(/^gateway_open_subscriptions 0$/m);
      // The OICP listener serves the same registry.
      expect(await (await fetch(`${gw.gateway.oicpUrl}/metrics`)).text()).toContain("gateway_inbound_messages_total");
    } finally {
      await gw.close();
    }
  });

  it("carries the request id into the Hubject call's log line, next to Hubject's Process-ID", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: "debug", destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
    const gw = await startTestGateway({ overrides: { logger } });
    try {
      const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
      const response = await fetch(gw.gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}`, "x-request-id": "req-4711" },
        body: JSON.stringify({ query: START, variables: { input: { evseId: "DE*SIM*E0001*1" } } }),
      });
      expect(response.headers.get("x-request-id")).toBe("req-4711");
      const upstream = lines.find((l) => l.msg === "hubject answered" && l.operation === "AuthorizeRemoteStart");
      expect(upstream).toMatchObject({ requestId: "req-4711", processId: expect.any(String) });
      const outcome = lines.find((l) => String(l.msg).startsWith("AuthorizeRemoteStart"));
      expect(outcome).toMatchObject({ requestId: "req-4711", processId: upstream!.processId });
      // Without a header, the gateway makes one up and says which.
      const other = await fetch(gw.gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
        body: JSON.stringify({ query: "{ chargingSessions { nodes { id } } }" }),
      });
      expect(other.status).toBe(200);
      expect(other.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await gw.close();
    }
  });

  it("shuts down gracefully: the in-flight mutation finishes, sockets are told to reconnect (1012), the store keeps the outcome", async () => {
    const gw = await startTestGateway({ env: { MUTATION_WAIT_MS: "3000" } });
    const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
    const watch = await subscribed(gw.gateway, () => gw.subscribe(alice.token, SESSION_UPDATED));
    gw.gateway.simulator!.failNext("AuthorizeRemoteStart", { kind: "delay", ms: 600 });
    const inFlight = gw.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, alice.token);
    await watch.waitFor((s) => s.status === "REQUESTED");
    const closing = gw.close({ removeData: false });
    const closed = await watch.closed;
    expect(closed?.code).toBe(1012);
    const { body } = await inFlight;
    expect(body.data.startCharging.session.status).toBe("ACCEPTED");
    await closing;

    const again = await startTestGateway({ dataDir: gw.dataDir });
    try {
      expect((await again.gateway.store.get(body.data.startCharging.session.id))?.status).toBe("ACCEPTED");
    } finally {
      await again.close();
    }
  });
});
