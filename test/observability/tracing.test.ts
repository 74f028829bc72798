// Tracing, over real sockets: a client's traceparent → "graphql mutation Start" → "hubject
// AuthorizeRemoteStart"; an inbound OICP message → "oicp ChargingNotification" → "push
// sessionUpdated" (in-process and across Redis); OTLP/HTTP export to a receiver; and nothing at
// all without an endpoint.
//
// The gateway is assembled from its parts (support.ts) with the tracing pieces where app.ts will
// put them; the subscription resolver's hook (pushSpan per delivered event) is played by the
// consumer loop below until the resolver calls it.

import { randomUUID } from "node:crypto";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { originOf, pushSpan, startTracing, type Tracing, tracesUrl } from "../../src/observability/tracing.js";
import { createRedisSessionEvents } from "../../src/pubsub/redis.js";
import { deserializeSessionEnvelope, serializeSessionEnvelope } from "../../src/pubsub/wire.js";
import type { SessionEvents } from "../../src/sessions/ports.js";
import type { ChargingSession } from "../../src/sessions/session.js";
import { fullSession } from "../pubsub/session-events.support.js";
import { driver, START, type TestDriver } from "../support/gateway.js";
import { untilSubscribed } from "../support/redis.js";
import { eventually } from "../support/wait.js";
import {
  clientSpan,
  idOf,
  NOTIFICATIONS_PATH,
  type OtlpReceiver,
  parentOf,
  REDIS_URL,
  startOtlpReceiver,
  startTracedStack,
  type TracedStack,
  traceOf,
} from "./support.js";

const logger = createLogger({ level: "silent" });
const ALICE_EVCO = "DE-GQL-C00000001-7";
const SERVICE_NAME = "emp-gateway-tracing-test";

let alice: TestDriver;
beforeAll(async () => {
  alice = await driver("alice", [ALICE_EVCO]);
});

/** What the subscription resolver will do: one pushSpan per delivered event. */
function pushEach(events: SessionEvents, driverId: string) {
  const pushed: ChargingSession[] = [];
  const iterator = events.subscribe({ driverId })[Symbol.asyncIterator]();
  const loop = (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      pushSpan(next.value, () => pushed.push(next.value));
    }
  })();
  return {
    pushed,
    async stop() {
      await iterator.return?.();
      await loop;
    },
  };
}

function startNotification(session: { id: string; hubjectSessionId: string; evseId: string }) {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00");
  return {
    Type: "Start",
    SessionID: session.hubjectSessionId,
    EMPPartnerSessionID: session.id,
    Identification: { RemoteIdentification: { EvcoID: ALICE_EVCO } },
    EvseID: session.evseId,
    OperatorID: "DE*SIM",
    SessionStart: now,
    ChargingStart: now,
    MeterValueStart: 1000,
  };
}

describe("tracing on (OTLP endpoint set)", () => {
  let receiver: OtlpReceiver;
  let memory: InMemorySpanExporter;
  let tracing: Tracing;
  const finished = (): ReadableSpan[] => memory.getFinishedSpans();
  const spanNamed = (name: string, traceId: string, extra: (span: ReadableSpan) => boolean = () => true) =>
    eventually(() => finished().find((s) => s.name === name && traceOf(s) === traceId && extra(s)), `span "${name}" in trace ${traceId}`);

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    memory = new InMemorySpanExporter();
    tracing = startTracing({
      endpoint: receiver.endpoint,
      serviceName: SERVICE_NAME,
      logger,
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
  });

  afterAll(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  it("is on, with the plugin and aroundRequest for the GraphQL server", () => {
    expect(tracing.enabled).toBe(true);
    expect(tracing.graphqlPlugin).not.toBeNull();
    expect(typeof tracing.aroundRequest).toBe("function");
    expect(tracing.tracer.startSpan("probe").isRecording()).toBe(true);
    expect(tracesUrl("http://collector:4318/")).toBe("http://collector:4318/v1/traces");
  });

  describe("GraphQL → Hubject", () => {
    let stack: TracedStack;
    beforeAll(async () => {
      stack = await startTracedStack({ tracer: tracing.tracer });
    });
    afterAll(async () => {
      await stack?.close();
    });

    it("a startCharging with the client's traceparent: graphql span under the client's span, hubject AuthorizeRemoteStart under it", async () => {
      const client = clientSpan();
      const { status, body } = await stack.graphql(
        START,
        { input: { evseId: "DE*SIM*E0001*1" } },
        { authorization: `Bearer ${alice.token}`, traceparent: client.traceparent, tracestate: "vendor=app" },
      );
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data.startCharging.session.status).toBe("ACCEPTED");

      const graphql = await spanNamed("graphql mutation Start", client.traceId);
      expect(parentOf(graphql)).toBe(client.spanId);
      expect(graphql.kind).toBe(SpanKind.SERVER);
      expect(graphql.spanContext().traceState?.serialize()).toBe("vendor=app");
      expect(graphql.attributes).toMatchObject({
        "graphql.operation.type": "mutation",
        "graphql.operation.name": "Start",
        "http.request.method": "POST",
        "http.response.status_code": 200,
      });
      expect(graphql.status.code).toBe(SpanStatusCode.UNSET);

      const hubject = await spanNamed("hubject AuthorizeRemoteStart", client.traceId);
      expect(parentOf(hubject)).toBe(idOf(graphql));
      expect(hubject.kind).toBe(SpanKind.CLIENT);
      expect(hubject.attributes).toMatchObject({
        "oicp.operation": "AuthorizeRemoteStart",
        "http.response.status_code": 200,
        "oicp.status_code": "000",
      });
      expect(hubject.attributes["hubject.process_id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(hubject.status.code).toBe(SpanStatusCode.UNSET);
    });

    it("without a traceparent the graphql span starts a trace of its own", async () => {
      const before = finished().length;
      const { body } = await stack.graphql(START, { input: { evseId: "DE*SIM*E0001*2" } }, { authorization: `Bearer ${alice.token}` });
      expect(body.data.startCharging.session.status).toBe("ACCEPTED");
      const hubject = await eventually(
        () =>
          finished()
            .slice(before)
            .find((s) => s.name === "hubject AuthorizeRemoteStart"),
        "the hubject span",
      );
      const graphql = await eventually(() => finished().find((s) => idOf(s) === parentOf(hubject)), "its parent");
      expect(graphql.name).toBe("graphql mutation Start");
      expect(parentOf(graphql)).toBeUndefined();
      expect(traceOf(graphql)).toBe(traceOf(hubject));
    });

    it("records a failed exchange as an error on the hubject span", async () => {
      stack.simulator.failNext("AuthorizeRemoteStart", { kind: "http", status: 503 });
      const client = clientSpan();
      const { body } = await stack.graphql(
        START,
        { input: { evseId: "DE*SIM*E0001*3" } },
        { authorization: `Bearer ${alice.token}`, traceparent: client.traceparent },
      );
      expect(body.data.startCharging.session.status).toBe("OUTCOME_UNKNOWN");
      const hubject = await spanNamed("hubject AuthorizeRemoteStart", client.traceId);
      expect(hubject.status.code).toBe(SpanStatusCode.ERROR);
      expect(hubject.attributes).toMatchObject({ "http.response.status_code": 503, "error.type": "503" });
    });

    it("records GraphQL errors on the graphql span", async () => {
      const client = clientSpan();
      const { body } = await stack.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, { traceparent: client.traceparent });
      expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      const graphql = await spanNamed("graphql mutation Start", client.traceId);
      expect(graphql.status.code).toBe(SpanStatusCode.ERROR);
      expect(graphql.attributes["graphql.error.codes"]).toEqual(["UNAUTHENTICATED"]);
      expect(finished().some((s) => s.name.startsWith("hubject") && traceOf(s) === client.traceId)).toBe(false);
    });

    it("exports the spans over OTLP/HTTP as JSON to <endpoint>/v1/traces, with the service name", async () => {
      const client = clientSpan();
      const { body } = await stack.graphql(
        START,
        { input: { evseId: "DE*SIM*E0001*4" } },
        { authorization: `Bearer ${alice.token}`, traceparent: client.traceparent },
      );
      expect(body.data.startCharging.session.status).toBe("ACCEPTED");
      await spanNamed("hubject AuthorizeRemoteStart", client.traceId);
      await tracing.forceFlush();

      const exported = await eventually(() => {
        const spans = receiver.spans().filter((s) => s.traceId === client.traceId);
        return spans.some((s) => s.name === "hubject AuthorizeRemoteStart") && spans.some((s) => s.name === "graphql mutation Start")
          ? spans
          : undefined;
      }, "the spans at the OTLP receiver");
      expect(
        receiver.requests.every((r) => r.method === "POST" && r.path === "/v1/traces" && r.contentType?.startsWith("application/json")),
      ).toBe(true);
      const graphql = exported.find((s) => s.name === "graphql mutation Start")!;
      const hubject = exported.find((s) => s.name === "hubject AuthorizeRemoteStart")!;
      expect(graphql.parentSpanId).toBe(client.spanId);
      expect(hubject.parentSpanId).toBe(graphql.spanId);
      expect(graphql.serviceName).toBe(SERVICE_NAME);
      expect(hubject.attributes["oicp.operation"]).toBe("AuthorizeRemoteStart");
    });
  });

  describe("inbound notification → push sessionUpdated, in-process events", () => {
    let stack: TracedStack;
    let pushes: ReturnType<typeof pushEach> | undefined;
    beforeAll(async () => {
      stack = await startTracedStack({ tracer: tracing.tracer });
    });
    afterEach(async () => {
      await pushes?.stop();
    });
    afterAll(async () => {
      await stack?.close();
    });

    it("the push of the change a ChargingNotification made is a child of the oicp span; the mutation's pushes are children of the graphql span", async () => {
      pushes = pushEach(stack.events, "alice");
      const client = clientSpan();
      const { body } = await stack.graphql(
        START,
        { input: { evseId: "DE*SIM*E0001*1" } },
        { authorization: `Bearer ${alice.token}`, traceparent: client.traceparent },
      );
      const sessionId: string = body.data.startCharging.session.id;
      // The simulated CPO sends Start (then Progress) to the OICP listener.
      await eventually(() => pushes!.pushed.find((s) => s.id === sessionId && s.status === "CHARGING"), "CHARGING pushed");

      const pushSpans = await eventually(() => {
        const spans = finished().filter((s) => s.name === "push sessionUpdated" && s.attributes["emp.session.id"] === sessionId);
        return spans.some((s) => s.attributes["emp.session.status"] === "CHARGING") ? spans : undefined;
      }, "push spans");
      const graphql = await spanNamed("graphql mutation Start", client.traceId);

      // REQUESTED (published by the resolver) and ACCEPTED (published when the answer settled, in the background).
      for (const status of ["REQUESTED", "ACCEPTED"]) {
        const push = pushSpans.find((s) => s.attributes["emp.session.status"] === status);
        expect(push, status).toBeDefined();
        expect(traceOf(push!)).toBe(client.traceId);
        expect(parentOf(push!)).toBe(idOf(graphql));
        expect(push!.kind).toBe(SpanKind.CONSUMER);
      }

      const charging = pushSpans.find((s) => s.attributes["emp.session.status"] === "CHARGING")!;
      const oicp = finished().find((s) => idOf(s) === parentOf(charging));
      expect(oicp?.name).toBe("oicp ChargingNotification");
      expect(traceOf(charging)).toBe(traceOf(oicp!));
      expect(oicp!.kind).toBe(SpanKind.SERVER);
      expect(oicp!.attributes).toMatchObject({
        "oicp.operation": "ChargingNotification",
        "oicp.message_type": "Start",
        "oicp.session_id": pushes.pushed.find((s) => s.id === sessionId && s.status === "CHARGING")!.hubjectSessionId,
        "emp.session.id": sessionId,
        "oicp.duplicate": false,
      });
      // The simulator sends no traceparent: the notification starts a trace.
      expect(parentOf(oicp!)).toBeUndefined();
    });

    it("an inbound message's traceparent is the parent of the oicp span", async () => {
      const client = clientSpan();
      const hubjectSessionId = randomUUID();
      const { status, body } = await stack.postOicp(
        NOTIFICATIONS_PATH,
        startNotification({ id: randomUUID(), hubjectSessionId, evseId: "DE*SIM*E0009*1" }),
        { traceparent: client.traceparent },
      );
      expect(status).toBe(200);
      expect(body.Result).toBe(true);
      const oicp = await spanNamed("oicp ChargingNotification", client.traceId);
      expect(parentOf(oicp)).toBe(client.spanId);
      expect(oicp.attributes["oicp.session_id"]).toBe(hubjectSessionId);
    });

    it("a rejected message is an error span", async () => {
      const client = clientSpan();
      const { body } = await stack.postOicp(NOTIFICATIONS_PATH, { Type: "Begin" }, { traceparent: client.traceparent });
      expect(body.StatusCode.Code).toBe("022");
      const oicp = await spanNamed("oicp ChargingNotification", client.traceId);
      expect(oicp.status.code).toBe(SpanStatusCode.ERROR);
      expect(oicp.attributes["oicp.status_code"]).toBe("022");
    });
  });

  describe("inbound notification → push sessionUpdated, across Redis", () => {
    const channelPrefix = `test-tracing-${randomUUID()}:`;
    let stack: TracedStack;
    /** Another replica: it only knows what came through Redis. */
    let replica: SessionEvents;
    let raw: Redis;
    let pushes: ReturnType<typeof pushEach> | undefined;

    beforeAll(async () => {
      // The CPO stays silent: the test posts the Start notification itself, with a traceparent.
      stack = await startTracedStack({ tracer: tracing.tracer, events: { kind: "redis", channelPrefix }, pace: { startDelayMs: 600_000 } });
      replica = createRedisSessionEvents({ url: REDIS_URL, channelPrefix, logger });
      raw = new Redis(REDIS_URL);
    });
    afterEach(async () => {
      await pushes?.stop();
    });
    afterAll(async () => {
      await stack?.close();
      await replica?.close();
      raw?.disconnect();
    });

    it("the traceparent travels in the Redis envelope; the other replica's push span is a child of the oicp span", async () => {
      const messages: string[] = [];
      await raw.psubscribe(`${channelPrefix}driver:updated:*`);
      raw.on("pmessage", (_pattern: string, _channel: string, message: string) => messages.push(message));
      pushes = pushEach(replica, "alice");
      await untilSubscribed(`${channelPrefix}driver:updated:alice`); // the replica's SUBSCRIBE took effect in Redis

      const { body } = await stack.graphql(START, { input: { evseId: "DE*SIM*E0001*1" } }, { authorization: `Bearer ${alice.token}` });
      const session = body.data.startCharging.session;
      expect(session.status).toBe("ACCEPTED");

      const client = clientSpan();
      const ack = await stack.postOicp(NOTIFICATIONS_PATH, startNotification(session), { traceparent: client.traceparent });
      expect(ack.body.Result).toBe(true);

      const charging = await eventually(
        () => pushes!.pushed.find((s) => s.id === session.id && s.status === "CHARGING"),
        "CHARGING at the replica",
      );
      const oicp = await spanNamed("oicp ChargingNotification", client.traceId);
      expect(parentOf(oicp)).toBe(client.spanId);
      expect(oicp.attributes["oicp.session_id"]).toBe(session.hubjectSessionId);

      // What crossed Redis: format 1, plus the oicp span as traceparent.
      const wire = messages.map((m) => JSON.parse(m)).find((m) => m.session.id === session.id && m.session.status === "CHARGING");
      expect(wire).toMatchObject({ format: 1, reannounce: false, traceparent: `00-${client.traceId}-${idOf(oicp)}-01` });

      // The session object the replica read from Redis carries the producer's span context.
      expect(originOf(charging)).toMatchObject({ traceId: client.traceId, spanId: idOf(oicp), isRemote: true });
      const push = await spanNamed("push sessionUpdated", client.traceId, (s) => s.attributes["emp.session.status"] === "CHARGING");
      expect(parentOf(push)).toBe(idOf(oicp));
      expect(push.attributes["emp.session.id"]).toBe(session.id);
    });
  });

  describe("a remote start settled in the background", () => {
    let stack: TracedStack;
    let pushes: ReturnType<typeof pushEach> | undefined;
    beforeAll(async () => {
      // The mutation answers after 50 ms; the slow EVSE's answer comes after 400 ms.
      stack = await startTracedStack({ tracer: tracing.tracer, mutationWaitMs: 50, pace: { startDelayMs: 600_000 } });
    });
    afterAll(async () => {
      await pushes?.stop();
      await stack?.close();
    });

    it("keeps the trace: the hubject span ends after the graphql span, the ACCEPTED push is in the same trace", async () => {
      pushes = pushEach(stack.events, "alice");
      const client = clientSpan();
      const { body } = await stack.graphql(
        START,
        { input: { evseId: "DE*SIM*E0002*1" } },
        { authorization: `Bearer ${alice.token}`, traceparent: client.traceparent },
      );
      expect(body.data.startCharging.session.status).toBe("REQUESTED");
      const graphql = await spanNamed("graphql mutation Start", client.traceId);
      const hubject = await spanNamed("hubject AuthorizeRemoteStart", client.traceId);
      expect(parentOf(hubject)).toBe(idOf(graphql));
      expect(hubject.endTime[0] * 1e9 + hubject.endTime[1]).toBeGreaterThan(graphql.endTime[0] * 1e9 + graphql.endTime[1]);
      const accepted = await spanNamed("push sessionUpdated", client.traceId, (s) => s.attributes["emp.session.status"] === "ACCEPTED");
      expect(parentOf(accepted)).toBe(idOf(graphql));
    });
  });

  describe("the Redis envelope stays readable both ways", () => {
    it("without tracing: no traceparent; an old message (no traceparent) and a malformed one are delivered without a trace", () => {
      const session = fullSession(3);
      const plain = JSON.parse(serializeSessionEnvelope({ session, reannounce: false }));
      expect(Object.keys(plain).sort()).toEqual(["format", "reannounce", "session"]);

      const old = deserializeSessionEnvelope(JSON.stringify(plain));
      expect("envelope" in old && old.envelope.origin).toBeUndefined();
      expect("envelope" in old && old.envelope.session).toEqual(session);

      for (const traceparent of ["garbage", 42, "00-00000000000000000000000000000000-0000000000000000-01"]) {
        const read = deserializeSessionEnvelope(JSON.stringify({ ...plain, traceparent }));
        expect("envelope" in read, String(traceparent)).toBe(true);
        expect("envelope" in read && read.envelope.origin).toBeUndefined();
      }
    });

    it("with a producer span: traceparent and tracestate round-trip", () => {
      const client = clientSpan();
      const origin = {
        traceId: client.traceId,
        spanId: client.spanId,
        traceFlags: 1,
        isRemote: false,
        traceState: new TraceState("vendor=app"),
      };
      const text = serializeSessionEnvelope({ session: fullSession(4), reannounce: true, origin });
      expect(JSON.parse(text)).toMatchObject({ format: 1, reannounce: true, traceparent: client.traceparent, tracestate: "vendor=app" });
      const read = deserializeSessionEnvelope(text);
      expect("envelope" in read && read.envelope.origin).toMatchObject({
        traceId: client.traceId,
        spanId: client.spanId,
        traceFlags: 1,
        isRemote: true,
      });
      expect("envelope" in read && read.envelope.origin?.traceState?.serialize()).toBe("vendor=app");
    });
  });
});

describe("tracing off (no endpoint)", () => {
  let receiver: OtlpReceiver;
  let memory: InMemorySpanExporter;
  let tracing: Tracing;
  let stack: TracedStack;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    memory = new InMemorySpanExporter();
    // Even handed processors, no endpoint means off.
    tracing = startTracing({ endpoint: "", serviceName: SERVICE_NAME, logger, spanProcessors: [new SimpleSpanProcessor(memory)] });
    // Worst case: the GraphQL pieces wired anyway, with the no-op tracer.
    stack = await startTracedStack({ tracer: tracing.tracer, graphqlTracing: true });
  });
  afterAll(async () => {
    await stack?.close();
    await tracing?.shutdown();
    await receiver?.close();
  });

  it("records and exports nothing: mutation, Hubject call, inbound notifications, pushes", async () => {
    expect(tracing.enabled).toBe(false);
    expect(tracing.graphqlPlugin).toBeNull();
    expect(tracing.aroundRequest).toBeUndefined();
    expect(tracing.tracer.startSpan("probe").isRecording()).toBe(false);

    const pushes = pushEach(stack.events, "alice");
    let activeInPush: unknown = "not called";
    try {
      const client = clientSpan();
      const { body } = await stack.graphql(
        START,
        { input: { evseId: "DE*SIM*E0001*1" } },
        { authorization: `Bearer ${alice.token}`, traceparent: client.traceparent },
      );
      const sessionId = body.data.startCharging.session.id;
      const charging = await eventually(() => pushes.pushed.find((s) => s.id === sessionId && s.status === "CHARGING"), "CHARGING pushed");
      expect(originOf(charging)).toBeUndefined();
      pushSpan(charging, () => {
        activeInPush = trace.getActiveSpan();
      });
    } finally {
      await pushes.stop();
    }
    expect(activeInPush).toBeUndefined();

    // The CPO's notifications go on while the session charges: two more, acknowledged by the
    // listener, so their handling (and any span it made) has ended; then anything left is flushed.
    const delivered = stack.simulator.deliveries.length;
    await eventually(() => stack.simulator.deliveries.length >= delivered + 2, "two more notifications handled by the gateway");
    await tracing.forceFlush();
    expect(memory.getFinishedSpans()).toEqual([]);
    expect(receiver.requests).toEqual([]);
  });
});
