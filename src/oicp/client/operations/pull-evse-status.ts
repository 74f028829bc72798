// eRoamingPullEvseStatus v2.1, all (6 calls/min) and by operator (75 calls/min), on their own paths
// (docs/oicp.md#evse-status, #e4). Safe reads, retried on transient failures. An unknown status
// value is read as Unknown; a record without an EvseID is skipped.
import { asArray, isRecord, readString } from "../../../lib/json.js";
import { OICP_EVSE_STATUSES, type OicpEvseStatus, oicpPaths } from "../../wire/types.js";
import { readStatusCode } from "../answer.js";
import { badResponse, errorForStatus, HubjectError } from "../errors.js";
import type { HubjectClient } from "../hubject.client.js";

export interface PulledEvseStatus {
  evseId: string;
  operatorId: string | null;
  status: OicpEvseStatus;
}

export async function pullEvseStatus(client: HubjectClient): Promise<PulledEvseStatus[]> {
  return pull(client, "PullEvseStatus", oicpPaths.pullEvseStatus(client.providerId), { ProviderID: client.providerId });
}

/** OperatorID is an array despite its name (docs/oicp.md#e13). */
export async function pullEvseStatusByOperatorId(client: HubjectClient, operatorIds: readonly string[]): Promise<PulledEvseStatus[]> {
  if (operatorIds.length === 0) throw new HubjectError("INVALID_REQUEST", "at least one OperatorID");
  return pull(client, "PullEvseStatusByOperatorId", oicpPaths.pullEvseStatusByOperatorId(client.providerId), {
    ProviderID: client.providerId,
    OperatorID: [...operatorIds],
  });
}

async function pull(
  client: HubjectClient,
  operation: "PullEvseStatus" | "PullEvseStatusByOperatorId",
  path: string,
  body: unknown,
): Promise<PulledEvseStatus[]> {
  const answer = await client.post({ operation, path, body, timeoutMs: client.requestTimeoutMs, idempotent: true });
  const json = client.expectOk(answer);
  const { processId } = answer;
  if (!isRecord(json)) throw badResponse(`${operation}: body is not a JSON object`, processId);
  const status = readStatusCode(json.StatusCode);
  if (status && status.code !== "000") throw errorForStatus(operation, status, 200, processId);
  const statuses = json.EvseStatuses ?? json.EVSEStatuses;
  if (statuses === undefined && status === null) throw badResponse(`${operation}: no EvseStatuses in the answer`, processId);
  const result: PulledEvseStatus[] = [];
  for (const operator of asArray(isRecord(statuses) ? statuses.OperatorEvseStatus : [])) {
    if (!isRecord(operator)) continue;
    const operatorId = readString(operator.OperatorID);
    for (const record of asArray(operator.EvseStatusRecord)) {
      if (!isRecord(record)) continue;
      const evseId = readString(record.EvseID);
      if (!evseId) continue;
      const value = record.EvseStatus;
      const known = typeof value === "string" && (OICP_EVSE_STATUSES as readonly string[]).includes(value);
      result.push({ evseId, operatorId, status: known ? (value as OicpEvseStatus) : "Unknown" });
    }
  }
  return result;
}
