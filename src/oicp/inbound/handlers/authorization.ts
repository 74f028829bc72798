// eRoamingAuthorizeStart / eRoamingAuthorizeStop v2.1 (docs/oicp.md#authorize-start): Hubject asks
// whether a card, QR code or car may charge or stop. Answered with eRoamingAuthorizationStart /
// eRoamingAuthorizationStop exactly as Hubject's OpenAPI defines them, always HTTP 200; a request
// that cannot be read gets NotAuthorized with 022, never a 404 or a 500, and changes nothing.
import type { AuthorizationDecision, AuthorizationService } from "../../../identifications/authorize.js";
import { maskUid } from "../../../identifications/identification.js";
import { toOicpStopIdentification } from "../../wire/identification.js";
import { authorizationRefusalStatus, OICP_SUCCESS } from "../../wire/status-codes.js";
import type { InboundHandler } from "../handler.js";
import { rejectedOnSpan } from "../handler.js";
import { type AuthorizationEcho, readAuthorization } from "../read/authorization.js";

export interface AuthorizationDeps {
  authorization: Pick<AuthorizationService, "authorizeStart" | "authorizeStop">;
  /** Our ProviderID: every Authorized answer names it. */
  providerId: string;
  /** HUBJECT_AUTHORIZATION_MODE=offline: Hubject authorizes from pushed data; online requests are refused (106). */
  online: boolean;
}

export function authorizeStartHandler(deps: AuthorizationDeps): InboundHandler {
  return async ({ body, span, log }) => {
    const read = readAuthorization(body, "start");
    if (!read.ok) return unreadable(read.problem, read.echo, span, log);
    const echo = echoOf(read.value);
    if (!deps.online) return offline(echo, log);
    const decision = await deps.authorization.authorizeStart(read.value);
    annotate(span, decision);
    if (!decision.authorized) return refusal(decision, echo);
    return {
      ...echo,
      // Our session id is the EMPPartnerSessionID Hubject passes on with every later message.
      ...(decision.session ? { EMPPartnerSessionID: decision.session.id } : {}),
      ProviderID: deps.providerId,
      AuthorizationStatus: "Authorized",
      StatusCode: OICP_SUCCESS,
      AuthorizationStopIdentifications: decision.stopIdentifications.map(toOicpStopIdentification).filter((i) => i !== null),
    };
  };
}

export function authorizeStopHandler(deps: AuthorizationDeps): InboundHandler {
  return async ({ body, span, log }) => {
    const read = readAuthorization(body, "stop");
    if (!read.ok) return unreadable(read.problem, read.echo, span, log);
    const echo = echoOf(read.value);
    if (!deps.online) return offline(echo, log);
    const request = { ...read.value, hubjectSessionId: read.value.hubjectSessionId! };
    const decision = await deps.authorization.authorizeStop(request);
    annotate(span, decision);
    if (!decision.authorized) return refusal(decision, echo);
    return {
      ...echo,
      ...(decision.session ? { EMPPartnerSessionID: decision.session.id } : {}),
      ProviderID: deps.providerId,
      AuthorizationStatus: "Authorized",
      StatusCode: OICP_SUCCESS,
    };
  };
}

function echoOf(request: {
  hubjectSessionId: string | null;
  cpoPartnerSessionId: string | null;
  empPartnerSessionId: string | null;
}): AuthorizationEcho {
  return {
    ...(request.hubjectSessionId ? { SessionID: request.hubjectSessionId } : {}),
    ...(request.cpoPartnerSessionId ? { CPOPartnerSessionID: request.cpoPartnerSessionId } : {}),
    ...(request.empPartnerSessionId ? { EMPPartnerSessionID: request.empPartnerSessionId } : {}),
  };
}

function refusal(decision: Extract<AuthorizationDecision, { authorized: false }>, echo: AuthorizationEcho) {
  const status = authorizationRefusalStatus(decision.reason, decision.credential);
  // "Not ours" says nothing more; the other refusals say why (no identifier in the text).
  const info = decision.reason === "UNKNOWN" ? {} : { AdditionalInfo: decision.detail };
  return { ...echo, AuthorizationStatus: "NotAuthorized", StatusCode: { ...status, ...info } };
}

/** A request that cannot be read: NotAuthorized, 022, the field named; logged without the identifiers it carried. */
function unreadable(
  problem: string,
  echo: AuthorizationEcho,
  span: Parameters<InboundHandler>[0]["span"],
  log: Parameters<InboundHandler>[0]["log"],
) {
  log.warn(
    { problem: problem.replace(/[0-9A-Fa-f]{8,}/g, (hex) => maskUid(hex) ?? "…") },
    "unreadable authorization request: NotAuthorized (022)",
  );
  rejectedOnSpan(span, problem);
  return {
    ...echo,
    AuthorizationStatus: "NotAuthorized",
    StatusCode: { ...authorizationRefusalStatus("MALFORMED", null), AdditionalInfo: problem },
  };
}

let offlineWarned = false;
function offline(echo: AuthorizationEcho, log: Parameters<InboundHandler>[0]["log"]) {
  if (!offlineWarned) {
    offlineWarned = true;
    log.warn("authorization request refused: HUBJECT_AUTHORIZATION_MODE=offline (Hubject should authorize from the pushed data)");
  }
  return {
    ...echo,
    AuthorizationStatus: "NotAuthorized",
    StatusCode: { ...authorizationRefusalStatus("OFFLINE", null), AdditionalInfo: "online authorization is off at this EMP" },
  };
}

function annotate(span: Parameters<InboundHandler>[0]["span"], decision: AuthorizationDecision) {
  if (!span.isRecording()) return;
  span.setAttribute("oicp.authorization_status", decision.authorized ? "Authorized" : "NotAuthorized");
  if (!decision.authorized) span.setAttribute("oicp.refusal", decision.reason);
  if (decision.authorized && decision.session) span.setAttribute("emp.session.id", decision.session.id);
}
