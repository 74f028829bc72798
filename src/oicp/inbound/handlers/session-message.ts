// The handling the two session messages share (a charging notification, a CDR): read the body,
// store and apply it through the session use cases, acknowledge once it is stored, echoing the
// ids (docs/oicp.md#inbound). A body that cannot be read gets Result:false with 022.
import { recordError } from "../../../observability/tracing-context.js";
import type { InboundReadResult, ParsedInbound } from "../../../sessions/ports.js";
import type { InboundOutcome } from "../../../sessions/session.service.js";
import { ack, type InboundHandler, rejectedOnSpan } from "../handler.js";

export interface SessionMessageDeps {
  sessions: { receive(parsed: ParsedInbound): Promise<InboundOutcome> };
  /** Counts a message answered 022 (stored and duplicate ones are counted by the session use cases). */
  onRejected?: (operation: string) => void;
}

export function sessionMessageHandler(
  operation: string,
  read: (body: unknown, receivedAt: Date) => InboundReadResult,
  deps: SessionMessageDeps,
): InboundHandler {
  return async ({ body, receivedAt, span, log }) => {
    const parsed = read(body, receivedAt);
    if (!parsed.ok) {
      log.warn({ problem: parsed.problem }, "rejected inbound OICP message");
      deps.onRejected?.(operation);
      rejectedOnSpan(span, parsed.problem);
      return ack(false, "022", "Data error", parsed.problem);
    }
    const ids = parsed.value.ids;
    if (span.isRecording()) {
      span.setAttribute("oicp.message_type", parsed.value.message.type);
      if (ids.hubjectSessionId) span.setAttribute("oicp.session_id", ids.hubjectSessionId);
      if (ids.empPartnerSessionId) span.setAttribute("oicp.emp_partner_session_id", ids.empPartnerSessionId);
    }
    const echo = {
      SessionID: ids.hubjectSessionId,
      CPOPartnerSessionID: ids.cpoPartnerSessionId,
      EMPPartnerSessionID: ids.empPartnerSessionId,
    };
    try {
      const outcome = await deps.sessions.receive(parsed.value);
      log.info(
        {
          hubjectSessionId: ids.hubjectSessionId,
          type: parsed.value.message.type,
          duplicate: outcome.duplicate,
          sessionId: outcome.session?.id ?? null,
        },
        "inbound OICP message stored",
      );
      if (span.isRecording()) {
        span.setAttribute("oicp.duplicate", outcome.duplicate);
        if (outcome.session) span.setAttribute("emp.session.id", outcome.session.id);
        span.setAttribute("oicp.status_code", "000");
        span.setAttribute("http.response.status_code", 200);
      }
      // Duplicates are acknowledged too (docs/oicp.md#duplicates).
      return { ...ack(true, "000", "Success"), ...echo };
    } catch (error) {
      log.error({ err: error, hubjectSessionId: ids.hubjectSessionId }, "could not store inbound OICP message");
      recordError(span, error, "could not store the message (answered 021)");
      span.setAttribute("oicp.status_code", "021");
      return { ...ack(false, "021", "System error"), ...echo };
    }
  };
}
