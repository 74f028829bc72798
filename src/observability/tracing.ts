// OpenTelemetry tracing: spans from the GraphQL operation down to the Hubject call, and from an
// inbound OICP message to every subscriber it is pushed to.
//
//   graphql <operationType> <operationName>   server, per HTTP GraphQL request (tracing-graphql.ts)
//     hubject <Operation>                      client, per exchange with Hubject (hubject.datasource.ts)
//   oicp <ChargingNotification|ChargeDetailRecord>  server, per inbound message (oicp.listener.ts)
//   push sessionUpdated                        consumer, per event delivered to a subscriber, child
//                                              of the span that published the change, also across
//                                              Redis (session.events.ts, session-events.redis.ts)
//
// W3C Trace Context (`traceparent`, `tracestate`) is accepted from the apps (GraphQL over HTTP)
// and on inbound OICP requests. Spans are exported over OTLP/HTTP (JSON) when
// OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise tracing is off: nothing is registered and every
// span call is the OpenTelemetry API's no-op.
import type { IncomingMessage } from "node:http";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { context, type DiagLogger, DiagLogLevel, diag, propagation, type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type BufferConfig, NodeTracerProvider, type SpanProcessor } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Logger } from "../logger.js";
import { defaultTracer, TRACER_NAME } from "./tracing-context.js";
import { createTracingAroundRequest, createTracingPlugin } from "./tracing-graphql.js";

export {
  activeSpanContext,
  contextFromHeaders,
  defaultTracer,
  originOf,
  PUSH_SPAN_NAME,
  pushSpan,
  TRACER_NAME,
} from "./tracing-context.js";
export { createTracingAroundRequest, createTracingPlugin } from "./tracing-graphql.js";

export const DEFAULT_SERVICE_NAME = TRACER_NAME;

export interface TracingOptions {
  /**
   * OTEL_EXPORTER_OTLP_ENDPOINT: base URL of an OTLP/HTTP receiver, e.g. "http://otel-collector:4318";
   * spans go to `${endpoint}/v1/traces` (the OpenTelemetry rule for this variable). Unset or empty:
   * tracing is off.
   */
  endpoint?: string | null;
  /** OTEL_SERVICE_NAME; default "emp-charging-gateway". */
  serviceName?: string | null;
  logger: Logger;
  /** More span processors next to the OTLP export (tests: an in-memory exporter). Ignored when tracing is off. */
  spanProcessors?: SpanProcessor[];
  /** BatchSpanProcessor tuning (queue size, delay); its defaults otherwise (and its OTEL_BSP_* variables). */
  batch?: BufferConfig;
  /** Timeout of one export request. Default 10 s. */
  exportTimeoutMs?: number;
}

export interface Tracing {
  /** False when no endpoint is set: `tracer` is then the API's no-op and nothing was registered. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** GraphQLServerOptions.plugins entry (names the request span, records errors); null when off. */
  readonly graphqlPlugin: ApolloServerPlugin<BaseContext> | null;
  /** GraphQLServerOptions.aroundRequest (opens the request span under the caller's traceparent); undefined when off. */
  readonly aroundRequest: (<T>(req: IncomingMessage, work: () => Promise<T>) => Promise<T>) | undefined;
  /** Exports what is buffered now. */
  forceFlush(): Promise<void>;
  /** Exports what is buffered, stops the exporter and unregisters the globals. Idempotent; never throws. */
  shutdown(): Promise<void>;
}

/** The provider that owns the global registration (one per process). */
let registered: NodeTracerProvider | null = null;

/**
 * Starts tracing when `endpoint` is set: a NodeTracerProvider (AsyncLocalStorage context manager,
 * so the trace follows async work: the remote start settled in the background, the session
 * change it publishes) with a BatchSpanProcessor exporting over OTLP/HTTP, registered as the
 * global tracer provider, and W3C Trace Context as the global propagator.
 */
export function startTracing(options: TracingOptions): Tracing {
  const endpoint = options.endpoint?.trim();
  if (!endpoint) {
    return {
      enabled: false,
      tracer: defaultTracer(),
      graphqlPlugin: null,
      aroundRequest: undefined,
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
  }
  const url = tracesUrl(endpoint);
  const serviceName = options.serviceName?.trim() || DEFAULT_SERVICE_NAME;
  const logger = options.logger.child({ component: "tracing" });

  const exporter = new OTLPTraceExporter({ url, timeoutMillis: options.exportTimeoutMs ?? 10_000 });
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName })),
    spanProcessors: [new BatchSpanProcessor(exporter, options.batch), ...(options.spanProcessors ?? [])],
  });

  const owner = registered === null;
  if (owner) {
    // Export failures are reported through the API's diag logger: route them to ours.
    diag.setLogger(diagToLogger(logger), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    provider.register({ propagator: new W3CTraceContextPropagator() });
    registered = provider;
  } else {
    // A second gateway in the same process (tests): its spans use its own tracer, the context
    // manager registered by the first one carries them.
    logger.warn("tracing was already started in this process: this instance does not register the globals");
  }
  logger.info({ endpoint: url, serviceName }, "tracing on: exporting spans over OTLP/HTTP");

  const tracer = provider.getTracer(TRACER_NAME);
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    tracer,
    graphqlPlugin: createTracingPlugin(tracer),
    aroundRequest: createTracingAroundRequest(tracer),
    async forceFlush() {
      try {
        await provider.forceFlush();
      } catch (error) {
        logger.warn({ err: error }, "exporting spans failed");
      }
    },
    shutdown() {
      stopping ??= (async () => {
        try {
          await provider.shutdown();
        } catch (error) {
          logger.warn({ err: error }, "exporting the last spans failed");
        }
        if (owner && registered === provider) {
          trace.disable();
          context.disable();
          propagation.disable();
          diag.disable();
          registered = null;
        }
      })();
      return stopping;
    },
  };
}

/** `${endpoint}/v1/traces`, as the OpenTelemetry specification derives it from OTEL_EXPORTER_OTLP_ENDPOINT. */
export function tracesUrl(endpoint: string): string {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new Error(`OTEL_EXPORTER_OTLP_ENDPOINT "${endpoint}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL (OTLP/HTTP), got ${parsed.protocol}`);
  }
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

function diagToLogger(logger: Logger): DiagLogger {
  return {
    error: (message, ...args) => logger.warn({ otel: args.map(String) }, `OpenTelemetry: ${message}`),
    warn: (message, ...args) => logger.warn({ otel: args.map(String) }, `OpenTelemetry: ${message}`),
    info: (message) => logger.debug(`OpenTelemetry: ${message}`),
    debug: (message) => logger.debug(`OpenTelemetry: ${message}`),
    verbose: (message) => logger.trace(`OpenTelemetry: ${message}`),
  };
}
