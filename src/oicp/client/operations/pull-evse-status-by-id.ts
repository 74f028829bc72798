// eRoamingPullEvseStatusById v2.1 (docs/oicp.md#evse-status): 1 to 100 EvseIDs a call, answered
// from Hubject's own status table; a safe read, so it is retried on transient failures.
import { asArray, isRecord } from "../../../lib/json.js";
import { EVSE_ID, sameEvseId } from "../../wire/identifiers.js";
import { OICP_EVSE_STATUSES, type OicpEvseStatus, type OicpPullEvseStatusById, oicpPaths } from "../../wire/types.js";
import { readStatusCode } from "../answer.js";
import { badResponse, errorForStatus, HubjectError } from "../errors.js";
import type { HubjectClient } from "../hubject.client.js";

/** PullEvseStatusByID takes at most 100 EvseIDs (docs/oicp.md#evse-status). */
export const MAX_EVSE_IDS_PER_STATUS_PULL = 100;

/**
 * At most 100 distinct ids (throws HubjectError INVALID_REQUEST otherwise); returns EvseID ->
 * OicpEvseStatus for every id asked (missing in answer -> "Unknown"). Throws HubjectError on failure.
 *
 * Duplicates (compared case-insensitively, docs/oicp.md#e11) are sent once: Hubject answers 018 to
 * duplicate EvseIDs. Ids that do not match the EvseID format are not sent (Hubject would reject the
 * whole batch with HTTP 400) and come back as "Unknown".
 */
export async function pullEvseStatusById(client: HubjectClient, evseIds: readonly string[]): Promise<Map<string, OicpEvseStatus>> {
  const distinct: string[] = [];
  const seen = new Set<string>();
  for (const id of evseIds) {
    const key = id.toUpperCase();
    if (!seen.has(key)) {
      seen.add(key);
      distinct.push(id);
    }
  }
  if (distinct.length > MAX_EVSE_IDS_PER_STATUS_PULL) {
    throw new HubjectError(
      "INVALID_REQUEST",
      `PullEvseStatusByID takes at most ${MAX_EVSE_IDS_PER_STATUS_PULL} EvseIDs, got ${distinct.length}`,
    );
  }
  const result = new Map<string, OicpEvseStatus>(evseIds.map((id) => [id, "Unknown"]));
  const toSend = distinct.filter((id) => EVSE_ID.test(id));
  if (toSend.length < distinct.length) {
    client.log.warn(
      { operation: "PullEvseStatusById", skipped: distinct.filter((id) => !EVSE_ID.test(id)) },
      "not sending malformed EvseIDs",
    );
  }
  if (toSend.length === 0) return result;

  const body: OicpPullEvseStatusById = { ProviderID: client.providerId, EvseID: toSend };
  const answer = await client.post({
    operation: "PullEvseStatusById",
    path: oicpPaths.pullEvseStatusById(client.providerId),
    body,
    timeoutMs: client.requestTimeoutMs,
    idempotent: true,
  });
  const json = client.expectOk(answer);
  const { processId } = answer;
  if (!isRecord(json)) throw badResponse("PullEvseStatusById: body is not a JSON object", processId);

  const recordsNode = json.EVSEStatusRecords ?? json.EvseStatusRecords;
  const status = readStatusCode(json.StatusCode);
  if (status && status.code !== "000") throw errorForStatus("PullEvseStatusById", status, 200, processId);
  if (recordsNode === undefined && status === null) {
    throw badResponse("PullEvseStatusById: neither EVSEStatusRecords nor StatusCode in the answer", processId);
  }
  const records = isRecord(recordsNode) ? asArray(recordsNode.EvseStatusRecord) : [];
  for (const record of records) {
    if (!isRecord(record) || typeof record.EvseID !== "string") continue;
    const evseStatus = toEvseStatus(record.EvseStatus);
    for (const asked of evseIds) {
      if (sameEvseId(asked, record.EvseID)) result.set(asked, evseStatus);
    }
  }
  return result;
}

function toEvseStatus(value: unknown): OicpEvseStatus {
  return typeof value === "string" && (OICP_EVSE_STATUSES as readonly string[]).includes(value) ? (value as OicpEvseStatus) : "Unknown";
}
