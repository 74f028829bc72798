// The light half of tracing: what the datasource, the OICP listener, the session events and the
// subscription resolver call on their hot paths. It depends on @opentelemetry/api (and the W3C
// propagator of @opentelemetry/core) only; the SDK, the exporter and the Apollo plugin live in
// tracing.ts / tracing-graphql.ts, loaded by the composition root.
//
// With tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT, nothing registered) every call here is the
// API's no-op: no context manager, so no active span, so nothing is captured or carried.
import type { IncomingHttpHeaders } from "node:http";
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/** Instrumentation scope of every span the gateway makes (and the default service.name). */
export const TRACER_NAME = "emp-charging-gateway";

/**
 * The gateway's tracer from the global API: the SDK's once startTracing() registered it, the
 * API's no-op otherwise. Components take it at construction, after startTracing().
 */
export function defaultTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

const propagator = new W3CTraceContextPropagator();

/**
 * The caller's trace context from `traceparent` / `tracestate` request headers (W3C Trace
 * Context), on an empty context: a server span started with it is the caller's child, or a new
 * root when the headers are missing or malformed.
 */
export function contextFromHeaders(headers: IncomingHttpHeaders): Context {
  if (headers.traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** The span context active right now, if it is a real one (null with tracing off). */
export function activeSpanContext(): SpanContext | undefined {
  const spanContext = trace.getSpanContext(context.active());
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

/** `traceparent` (and `tracestate` when there is one) for a span context, as W3C Trace Context writes them. */
export function traceHeadersOf(spanContext: SpanContext): { traceparent: string; tracestate?: string } | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, defaultTextMapSetter);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate } : { traceparent: carrier.traceparent };
}

/** The (remote) span context a `traceparent` names; undefined when it is malformed. */
export function spanContextFromTraceHeaders(traceparent: string, tracestate?: string): SpanContext | undefined {
  const carrier: Record<string, string> = tracestate ? { traceparent, tracestate } : { traceparent };
  const spanContext = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

// ---------------------------------------------------------------------------------------------
// Session changes: which span produced the change a subscriber is about to receive.
//
// The ChargingSession type stays as it is: the session events adapters remember the producer's
// span context per delivered session object (weakly: it goes away with the object), and
// pushSpan() looks it up. One object is delivered to every subscriber of one published change
// (in-process: the published object itself; Redis: the object read from one message).

const origins = new WeakMap<object, SpanContext>();

/** Called by the session events adapters for every session they deliver. */
export function rememberOrigin(session: object, origin: SpanContext | undefined): void {
  if (origin) origins.set(session, origin);
}

/** The span context of the span that published this session change, if it was traced. */
export function originOf(session: object): SpanContext | undefined {
  return origins.get(session);
}

export const PUSH_SPAN_NAME = "push sessionUpdated";

/**
 * Runs `work` (the subscription resolver's body for one event) in a "push sessionUpdated" span,
 * a child of the span that produced the change (a GraphQL mutation, an inbound OICP message, …),
 * also when the change crossed Redis. Without a known producer the span has no remote parent.
 * A promise returned by `work` is awaited before the span ends.
 *
 * The session object must be the one the subscription delivered (the resolver's @Root()).
 *
 *   sessionUpdated(@Root() session) { return pushSpan(session, () => session); }
 */
export function pushSpan<T>(
  session: { id: string; version?: number; status?: string },
  work: () => T,
  tracer: Tracer = defaultTracer(),
): T {
  const origin = origins.get(session);
  const parent = origin ? trace.setSpanContext(context.active(), origin) : context.active();
  const attributes: Attributes = {
    "messaging.operation.type": "process",
    "messaging.destination.name": "sessionUpdated",
    "emp.session.id": session.id,
  };
  if (typeof session.version === "number") attributes["emp.session.version"] = session.version;
  if (typeof session.status === "string") attributes["emp.session.status"] = session.status;
  return inSpan(tracer, PUSH_SPAN_NAME, { kind: SpanKind.CONSUMER, attributes }, parent, work);
}

/**
 * Runs `work` inside a new active span and ends it when `work` returns or, for a promise, settles;
 * a throw or rejection is recorded on the span and passed on.
 */
export function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: { kind: SpanKind; attributes?: Attributes },
  parent: Context,
  work: (span: Span) => T,
): T {
  return tracer.startActiveSpan(name, options, parent, (span) => {
    let result: T;
    try {
      result = work(span);
    } catch (error) {
      recordError(span, error);
      span.end();
      throw error;
    }
    if (isPromiseLike(result)) {
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          recordError(span, error);
          span.end();
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

/** An exception event and an ERROR status. */
export function recordError(span: Span, error: unknown, message?: string): void {
  if (error instanceof Error) span.recordException(error);
  else span.recordException({ name: "Error", message: String(error) });
  span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? (error instanceof Error ? error.message : String(error)) });
}

function isPromiseLike<T>(value: T): value is T & PromiseLike<Awaited<T>> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
