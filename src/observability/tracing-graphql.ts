// Tracing of GraphQL over HTTP: one server span per request, "graphql <operationType> <operationName>".
//
// Two pieces, meant to be used together (GraphQLServerOptions.aroundRequest and .plugins):
// - createTracingAroundRequest(tracer) opens the span around the whole HTTP request, as a child of
//   the caller's `traceparent` / `tracestate` (W3C Trace Context), and makes it the active span, so
//   that everything the resolvers do (the Hubject call, the session change it publishes, the
//   remote start settled in the background) is part of the same trace;
// - createTracingPlugin(tracer) names that span once Apollo knows the operation, and records the
//   response status and the GraphQL errors.
// The plugin alone (no aroundRequest) opens a span of its own, which cannot be made active.
import type { IncomingMessage } from "node:http";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { contextFromHeaders, recordError } from "./tracing-context.js";

const GRAPHQL_SPAN_NAME = "graphql";
/** Spans opened by an aroundRequest of this module: the plugin completes these rather than opening its own. */
const requestSpans = new WeakSet<Span>();

/** GraphQLServerOptions.aroundRequest: the request runs inside its server span. */
export function createTracingAroundRequest(tracer: Tracer): <T>(req: IncomingMessage, work: () => Promise<T>) => Promise<T> {
  return async function aroundRequest<T>(req: IncomingMessage, work: () => Promise<T>): Promise<T> {
    const parent = contextFromHeaders(req.headers);
    const span = tracer.startSpan(
      GRAPHQL_SPAN_NAME,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": req.method ?? "GET",
          "url.path": (req.url ?? "/").split("?")[0]!,
          "network.protocol.name": "http",
        },
      },
      parent,
    );
    requestSpans.add(span);
    try {
      return await context.with(trace.setSpan(parent, span), work);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
}

/** GraphQLServerOptions.plugins: names the request's span and records the outcome. */
export function createTracingPlugin<TContext extends BaseContext = BaseContext>(tracer: Tracer): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart({ request }) {
      const active = trace.getActiveSpan();
      const owned = !(active && requestSpans.has(active));
      const span = owned ? tracer.startSpan(GRAPHQL_SPAN_NAME, { kind: SpanKind.SERVER }) : active!;
      if (request.operationName) span.setAttribute("graphql.operation.name", request.operationName);
      return {
        async didResolveOperation({ operation, operationName }) {
          if (!operation) return;
          const type = operation.operation;
          span.updateName(`${GRAPHQL_SPAN_NAME} ${type}${operationName ? ` ${operationName}` : ""}`);
          span.setAttribute("graphql.operation.type", type);
          if (operationName) span.setAttribute("graphql.operation.name", operationName);
        },
        async didEncounterErrors({ errors }) {
          const codes = new Set<string>();
          for (const error of errors) {
            const code = typeof error.extensions?.code === "string" ? error.extensions.code : "INTERNAL_SERVER_ERROR";
            codes.add(code);
            span.addEvent("exception", { "exception.type": code, "exception.message": error.message });
          }
          span.setAttribute("graphql.error.codes", [...codes]);
          span.setStatus({ code: SpanStatusCode.ERROR, message: errors[0]?.message ?? "GraphQL error" });
        },
        async willSendResponse({ response }) {
          span.setAttribute("http.response.status_code", response.http.status ?? 200);
          if (owned) span.end();
        },
      };
    },
  };
}
