// One OpenTelemetry client span "hubject <Operation>" per exchange, a child of the active span
// (the GraphQL request, a job, …), annotated from the answer as answer.ts read it.
import { context, type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { Answer, PostRequest } from "./answer.js";

export function startExchangeSpan(tracer: Tracer, baseUrl: string, request: PostRequest): Span {
  const url = new URL(baseUrl);
  return tracer.startSpan(
    `hubject ${request.operation}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "oicp.operation": request.operation,
        "http.request.method": "POST",
        "server.address": url.hostname,
        "server.port": Number(url.port) || (url.protocol === "https:" ? 443 : 80),
        "url.full": `${baseUrl}/${request.path}`,
      },
    },
    context.active(),
  );
}

/**
 * HTTP status, OICP StatusCode, Hubject's Process-ID; an ERROR status for a transport failure,
 * HTTP >= 400, a 2xx body that is not JSON, a StatusCode other than 000, or an open circuit.
 */
export function annotateExchangeSpan(span: Span, answer: Answer): void {
  if (!span.isRecording()) return;
  const { exchange } = answer;
  if (exchange.type === "circuit-open" || exchange.type === "held") {
    span.setAttribute(exchange.type === "held" ? "hubject.held" : "hubject.circuit_open", true);
    span.setAttribute("error.type", exchange.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: exchange.detail });
    return;
  }
  if (exchange.type === "transport-error") {
    span.setAttribute("error.type", exchange.code);
    span.setAttribute("hubject.failure", exchange.failure);
    span.recordException({ name: exchange.code, message: exchange.detail });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${exchange.failure}: ${exchange.detail}` });
    return;
  }
  span.setAttribute("http.response.status_code", exchange.httpStatus);
  if (exchange.processId) span.setAttribute("hubject.process_id", exchange.processId);
  const code = answer.bodyStatus?.code ?? null;
  if (code !== null) span.setAttribute("oicp.status_code", code);
  if (exchange.httpStatus >= 400) {
    span.setAttribute("error.type", String(exchange.httpStatus));
    span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${exchange.httpStatus}${code ? ` (StatusCode ${code})` : ""}` });
  } else if (exchange.json === undefined) {
    span.setAttribute("error.type", "bad-response");
    span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${exchange.httpStatus} with a body that is not JSON` });
  } else if (code !== null && code !== "000") {
    span.setAttribute("error.type", `oicp-${code}`);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `StatusCode ${code}` });
  }
}
