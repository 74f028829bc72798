// The answer to a remote start or stop (eRoamingAcknowledgement, docs/oicp.md#acknowledgement),
// read into what the domain can rely on: answered, unknown (it may have been executed), or
// failed (it certainly was not). Never read as a success when it cannot be read at all.
import { isRecord, readString } from "../../../lib/json.js";
import type { RemoteCallOutcome } from "../../../sessions/ports.js";
import { type Answer, readStatusCode, synthesized } from "../answer.js";

export function remoteOutcomeOf(answer: Answer): RemoteCallOutcome {
  const { exchange, processId, httpStatus } = answer;
  if (exchange.type === "held") {
    return {
      kind: "failed",
      reason: "rate-limited",
      status: synthesized("320", "Rate limited", exchange.detail),
      httpStatus: null,
      detail: exchange.detail,
      processId: null,
    };
  }
  if (exchange.type === "circuit-open") {
    return {
      kind: "failed",
      reason: "circuit-open",
      status: synthesized("320", "Service not available", exchange.detail),
      httpStatus: null,
      detail: exchange.detail,
      processId: null,
    };
  }
  if (exchange.type === "transport-error") {
    switch (exchange.failure) {
      case "unreachable":
      case "tls":
        return {
          kind: "failed",
          reason: "unreachable",
          status: synthesized("320", "Service not available", exchange.detail),
          httpStatus: null,
          detail: exchange.detail,
          processId: null,
        };
      case "timeout":
      case "connection-lost":
        return { kind: "unknown", reason: exchange.failure, detail: exchange.detail, processId: null };
    }
  }
  const verdict = answer.verdict!;
  switch (verdict.verdict) {
    case "bad-response":
      return { kind: "unknown", reason: "bad-response", detail: verdict.detail, processId };
    case "upstream-error":
      return { kind: "unknown", reason: "upstream-error", detail: verdict.detail, processId };
    case "rejected":
      return { kind: "failed", reason: verdict.reason, status: verdict.status, httpStatus, detail: verdict.detail, processId };
    case "ok": {
      const ack = readAcknowledgement(verdict.json);
      if (typeof ack === "string") return { kind: "unknown", reason: "bad-response", detail: `HTTP ${httpStatus}: ${ack}`, processId };
      return { kind: "answered", ...ack, processId };
    }
  }
}

/** A request the gateway refuses to send (it breaks OICP's formats): nothing reached Hubject. */
export function rejectedLocally(problems: string[]): RemoteCallOutcome {
  const detail = problems.join("; ");
  return {
    kind: "failed",
    reason: "invalid-request",
    status: synthesized("022", "Data error", detail),
    httpStatus: null,
    detail,
    processId: null,
  };
}

/** eRoamingAcknowledgement, leniently (docs/oicp.md#lenient-reading). Returns a problem description when unusable. */
function readAcknowledgement(json: unknown): Omit<Extract<RemoteCallOutcome, { kind: "answered" }>, "kind" | "processId"> | string {
  if (!isRecord(json)) return "acknowledgement is not a JSON object";
  const result = readBoolean(json.Result);
  const status = readStatusCode(json.StatusCode);
  if (result === null) return "acknowledgement without a Result";
  let effectiveStatus = status;
  if (!effectiveStatus) {
    if (!result) return "negative acknowledgement without a StatusCode";
    effectiveStatus = { code: "000", description: null, additionalInfo: "StatusCode missing in Hubject's answer" };
  }
  return {
    result,
    status: effectiveStatus,
    hubjectSessionId: readString(json.SessionID),
    cpoPartnerSessionId: readString(json.CPOPartnerSessionID),
    empPartnerSessionId: readString(json.EMPPartnerSessionID),
  };
}

function readBoolean(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return null;
}
