// eRoamingAuthorizeRemoteStart v2.1 (docs/oicp.md#remote-start): no SessionID (Hubject creates it,
// docs/oicp.md#e2), Identification only RemoteIdentification. Sent once, never retried.
import { redactEvcoId } from "../../../logger.js";
import type { RemoteCallOutcome, RemoteStartRequest } from "../../../sessions/ports.js";
import { EVCO_ID, PRODUCT_ID_MAX } from "../../wire/identifiers.js";
import { type OicpAuthorizeRemoteStart, oicpPaths } from "../../wire/types.js";
import type { HubjectClient } from "../hubject.client.js";
import { rejectedLocally, remoteOutcomeOf } from "./acknowledgement.js";
import { checkEvseId, checkPartnerSessionId } from "./checks.js";

export async function authorizeRemoteStart(client: HubjectClient, req: RemoteStartRequest): Promise<RemoteCallOutcome> {
  const problems = [
    ...checkEvseId(req.evseId),
    ...(EVCO_ID.test(req.evcoId) ? [] : ["EvcoID does not match the OICP EvcoID format"]),
    ...checkPartnerSessionId("EMPPartnerSessionID", req.empPartnerSessionId),
  ];
  if (req.partnerProductId != null && (req.partnerProductId.length === 0 || req.partnerProductId.length > PRODUCT_ID_MAX)) {
    problems.push(`PartnerProductID must be 1..${PRODUCT_ID_MAX} characters`);
  }
  if (problems.length > 0) return rejectedLocally(problems);

  const body: OicpAuthorizeRemoteStart = {
    ProviderID: client.providerId,
    EvseID: req.evseId,
    Identification: { RemoteIdentification: { EvcoID: req.evcoId } },
    EMPPartnerSessionID: req.empPartnerSessionId,
    ...(req.partnerProductId != null ? { PartnerProductID: req.partnerProductId } : {}),
  };
  const answer = await client.post({
    operation: "AuthorizeRemoteStart",
    path: oicpPaths.remoteStart(client.providerId),
    body,
    timeoutMs: client.remoteTimeoutMs,
    idempotent: false,
    logFields: { evseId: req.evseId, evco: redactEvcoId(req.evcoId) },
  });
  return remoteOutcomeOf(answer);
}
