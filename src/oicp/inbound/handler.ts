// What an inbound handler is: it gets the JSON body Hubject sent (already size-checked and
// parsed as JSON by the listener) and answers with the OICP body to send back, always over
// HTTP 200 (docs/oicp.md#inbound). One handler per message type, in handlers/.
import type { Span } from "@opentelemetry/api";
import { SpanStatusCode } from "@opentelemetry/api";
import type { Logger } from "../../logger.js";
import type { OicpAcknowledgement } from "../wire/types.js";

export interface InboundRequest {
  /** The body exactly as received (it parsed as JSON). */
  text: string;
  body: unknown;
  /** The calling CPO's OperatorID from the path (CDRs), or null. */
  operatorId: string | null;
  receivedAt: Date;
  /** The message's server span (attributes for the trace). */
  span: Span;
  log: Logger;
}

export type InboundHandler = (request: InboundRequest) => Promise<unknown>;

export function ack(result: boolean, code: string, description: string, additionalInfo: string | null = null): OicpAcknowledgement {
  return { Result: result, StatusCode: { Code: code, Description: description, AdditionalInfo: additionalInfo } };
}

/** A message answered 022 (not stored): an ERROR span, so that a CPO's malformed messages show up. */
export function rejectedOnSpan(span: Span, problem: string): void {
  if (!span.isRecording()) return;
  span.setAttribute("oicp.status_code", "022");
  span.setAttribute("error.type", "oicp-022");
  span.setStatus({ code: SpanStatusCode.ERROR, message: problem });
}
