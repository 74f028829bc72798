// The handling the two session messages share (a charging notification, a CDR): hand the body, as
// received, to the session use cases, which store it before anything else and then judge and apply
// it; acknowledge once it is stored, echoing the ids (docs/oicp.md#inbound). A message that cannot
// be read is stored too, and answered Result:false with 022.
import { recordError } from "../../../observability/tracing-context.js";
import type { InboundDelivery, InboundOutcome } from "../../../sessions/session.service.js";
import { type InboundKind, StoreUnavailableError } from "../../../sessions/session.store.js";
import { ack, type InboundHandler, rejectedOnSpan } from "../handler.js";

export interface SessionMessageDeps {
  sessions: { receive(delivery: InboundDelivery): Promise<InboundOutcome> };
  /** Counts a body that could not even be stored (too large, not JSON); what is stored is counted by the use cases. */
  onRejected?: (operation: string) => void;
}

export function sessionMessageHandler(kind: InboundKind, deps: SessionMessageDeps): InboundHandler {
  return async ({ text, operatorId, receivedAt, span, log }) => {
    let outcome: InboundOutcome;
    try {
      outcome = await deps.sessions.receive({ kind, text, operatorId, receivedAt, source: "push" });
    } catch (error) {
      if (error instanceof StoreUnavailableError)
        log.warn(
          { err: error.message },
          "could not store inbound OICP message (the store is unavailable): answered 021; a CDR comes back through the back-fill",
        );
      else log.error({ err: error }, "could not store inbound OICP message");
      recordError(span, error, "could not store the message (answered 021)");
      span.setAttribute("oicp.status_code", "021");
      return ack(false, "021", "System error");
    }
    const ids = outcome.ids;
    const echo = ids
      ? { SessionID: ids.hubjectSessionId, CPOPartnerSessionID: ids.cpoPartnerSessionId, EMPPartnerSessionID: ids.empPartnerSessionId }
      : {};
    if (span.isRecording()) {
      span.setAttribute("oicp.inbound_seq", outcome.seq);
      span.setAttribute("oicp.inbound_state", outcome.state);
      if (outcome.type) span.setAttribute("oicp.message_type", outcome.type);
      if (ids?.hubjectSessionId) span.setAttribute("oicp.session_id", ids.hubjectSessionId);
      if (ids?.empPartnerSessionId) span.setAttribute("oicp.emp_partner_session_id", ids.empPartnerSessionId);
      span.setAttribute("oicp.duplicate", outcome.duplicate);
      if (outcome.session) span.setAttribute("emp.session.id", outcome.session.id);
    }
    if (outcome.state === "rejected") {
      rejectedOnSpan(span, outcome.problem ?? "unreadable");
      return { ...ack(false, "022", "Data error", outcome.problem), ...echo };
    }
    log.info(
      { seq: outcome.seq, hubjectSessionId: ids?.hubjectSessionId, state: outcome.state, sessionId: outcome.session?.id ?? null },
      "inbound OICP message stored",
    );
    if (span.isRecording()) {
      span.setAttribute("oicp.status_code", "000");
      span.setAttribute("http.response.status_code", 200);
    }
    // Duplicates, conflicts and misfits are stored and flagged: acknowledged too (docs/oicp.md#duplicates).
    return { ...ack(true, "000", "Success"), ...echo };
  };
}
