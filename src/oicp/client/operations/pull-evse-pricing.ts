// eRoamingPullEVSEPricing v1.0 (docs/oicp.md#pricing): which pricing products each EVSE of the
// named operators offers the EMP; `LastCall` for changes only. The top-level key is `EVSEPricing`
// or `OperatorEVSEPricing` (docs/oicp.md#e7): both are read. A malformed entry is skipped alone,
// counted and logged.
import { asArray, isRecord, readString } from "../../../lib/json.js";
import type { SkippedPricingRecord } from "../../../pricing/ports.js";
import type { EvseProducts } from "../../../pricing/pricing.js";
import { EVSE_ID, OPERATOR_ID, PRODUCT_ID_MAX, PROVIDER_ID } from "../../wire/identifiers.js";
import { oicpPaths } from "../../wire/types.js";
import { HubjectError } from "../errors.js";
import type { HubjectClient } from "../hubject.client.js";
import { toOicpDateTime } from "./get-charge-detail-records.js";
import { pullJson } from "./pull-pricing-product-data.js";

export interface EvsePricingAnswer {
  evses: EvseProducts[];
  skipped: SkippedPricingRecord[];
}

export async function pullEvsePricing(
  client: HubjectClient,
  operatorIds: readonly string[],
  lastCall: Date | null,
): Promise<EvsePricingAnswer> {
  if (operatorIds.length === 0) throw new HubjectError("INVALID_REQUEST", "at least one OperatorID");
  const body = {
    ProviderID: client.providerId,
    OperatorIDs: [...operatorIds],
    ...(lastCall ? { LastCall: toOicpDateTime(lastCall, "floor") } : {}),
  };
  const json = await pullJson(client, "PullEvsePricing", oicpPaths.pullEvsePricing(client.providerId), body);
  const answer = readEvsePricing(json);
  if (answer.skipped.length > 0) {
    client.log.warn(
      { operation: "PullEvsePricing", skipped: answer.skipped.length, first: answer.skipped.slice(0, 20) },
      "skipped unreadable EVSE pricing records",
    );
  }
  return answer;
}

/** Reads the answer body leniently. Exported for tests. */
export function readEvsePricing(json: Record<string, unknown>): EvsePricingAnswer {
  const evses: EvseProducts[] = [];
  const skipped: SkippedPricingRecord[] = [];
  for (const block of asArray(json.EVSEPricing ?? json.OperatorEVSEPricing)) {
    if (!isRecord(block)) {
      skipped.push({ id: null, reason: "operator block is not an object" });
      continue;
    }
    const operatorId = readString(block.OperatorID);
    if (!operatorId || !OPERATOR_ID.test(operatorId)) {
      skipped.push({ id: operatorId, reason: "OperatorID missing or malformed" });
      continue;
    }
    for (const entry of asArray(block.EVSEPricing)) {
      if (!isRecord(entry)) {
        skipped.push({ id: operatorId, reason: "EVSE pricing entry is not an object" });
        continue;
      }
      const evseId = readString(entry.EvseID);
      if (!evseId || !EVSE_ID.test(evseId)) {
        skipped.push({ id: evseId, reason: "EvseID missing or malformed" });
        continue;
      }
      const providerId = readString(entry.ProviderID);
      // The OAS allows only a ProviderID here; "*" (offered to all) is read as on products.
      if (!providerId || (providerId !== "*" && !PROVIDER_ID.test(providerId))) {
        skipped.push({ id: evseId, reason: "ProviderID missing or malformed" });
        continue;
      }
      if (!Array.isArray(entry.EvseIDProductList)) {
        skipped.push({ id: evseId, reason: "EvseIDProductList missing" });
        continue;
      }
      const productIds = entry.EvseIDProductList.filter(
        (id): id is string => typeof id === "string" && id.length > 0 && id.length <= PRODUCT_ID_MAX,
      );
      evses.push({ operatorId, evseId, providerId, productIds: [...new Set(productIds)] });
    }
  }
  return { evses, skipped };
}
