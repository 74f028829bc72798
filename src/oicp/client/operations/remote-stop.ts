// eRoamingAuthorizeRemoteStop v2.1 (docs/oicp.md#remote-stop). The path carries the ProviderID, not
// the OAS's `{externalID}` (docs/oicp.md#e1). Sent once, never retried.
import type { RemoteCallOutcome, RemoteStopRequest } from "../../../sessions/ports.js";
import { SESSION_ID } from "../../wire/identifiers.js";
import { type OicpAuthorizeRemoteStop, oicpPaths } from "../../wire/types.js";
import type { HubjectClient } from "../hubject.client.js";
import { rejectedLocally, remoteOutcomeOf } from "./acknowledgement.js";
import { checkEvseId, checkPartnerSessionId } from "./checks.js";

export async function authorizeRemoteStop(client: HubjectClient, req: RemoteStopRequest): Promise<RemoteCallOutcome> {
  const problems = [
    ...(SESSION_ID.test(req.hubjectSessionId) ? [] : ["SessionID does not match the OICP SessionID format"]),
    ...checkEvseId(req.evseId),
    ...(req.empPartnerSessionId != null ? checkPartnerSessionId("EMPPartnerSessionID", req.empPartnerSessionId) : []),
    ...(req.cpoPartnerSessionId != null ? checkPartnerSessionId("CPOPartnerSessionID", req.cpoPartnerSessionId) : []),
  ];
  if (problems.length > 0) return rejectedLocally(problems);

  const body: OicpAuthorizeRemoteStop = {
    SessionID: req.hubjectSessionId,
    ProviderID: client.providerId,
    EvseID: req.evseId,
    ...(req.empPartnerSessionId != null ? { EMPPartnerSessionID: req.empPartnerSessionId } : {}),
    ...(req.cpoPartnerSessionId != null ? { CPOPartnerSessionID: req.cpoPartnerSessionId } : {}),
  };
  const answer = await client.post({
    operation: "AuthorizeRemoteStop",
    path: oicpPaths.remoteStop(client.providerId),
    body,
    timeoutMs: client.remoteTimeoutMs,
    idempotent: false,
    logFields: { evseId: req.evseId, hubjectSessionId: req.hubjectSessionId },
  });
  return remoteOutcomeOf(answer);
}
