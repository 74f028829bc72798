// eRoamingPullPricingProductData v1.0 (docs/oicp.md#pricing): the pricing products of the operators
// named in OperatorIDs, grouped by operator; `LastCall` for changes only. There is no ProviderID in
// the body, the path carries it (and E20: the answer is PricingProductData, not an acknowledgement).
// A safe read, retried on transient failures; prices are read exactly from the answer's text
// (lossless-json). Lenient record by record: an unreadable product, or an operator block without
// its mandatory defaults, is skipped alone, counted and logged; it never fails the pull.
import { asArray, isRecord, readString } from "../../../lib/json.js";
import type { SkippedPricingRecord } from "../../../pricing/ports.js";
import {
  type AdditionalReference,
  type AvailabilityTime,
  CURRENCY,
  type OperatorPricing,
  type PricingProduct,
  REFERENCE_UNITS,
  type ReferenceUnit,
} from "../../../pricing/pricing.js";
import { parseOicpJson, readOicpDecimal } from "../../wire/decimal.js";
import { OPERATOR_ID, PRODUCT_ID_MAX, PROVIDER_ID } from "../../wire/identifiers.js";
import { oicpPaths } from "../../wire/types.js";
import { readStatusCode } from "../answer.js";
import { badResponse, errorForStatus, HubjectError } from "../errors.js";
import type { HubjectClient } from "../hubject.client.js";
import { toOicpDateTime } from "./get-charge-detail-records.js";

export interface PricingProductDataAnswer {
  operators: OperatorPricing[];
  skipped: SkippedPricingRecord[];
}

export async function pullPricingProductData(
  client: HubjectClient,
  operatorIds: readonly string[],
  lastCall: Date | null,
): Promise<PricingProductDataAnswer> {
  if (operatorIds.length === 0) throw new HubjectError("INVALID_REQUEST", "at least one OperatorID");
  const body = {
    // Spelled OperatorIDs here (docs/oicp.md#e13).
    OperatorIDs: [...operatorIds],
    ...(lastCall ? { LastCall: toOicpDateTime(lastCall, "floor") } : {}),
  };
  const json = await pullJson(client, "PullPricingProductData", oicpPaths.pullPricingProductData(client.providerId), body);
  const skipped: SkippedPricingRecord[] = [];
  const operators: OperatorPricing[] = [];
  for (const raw of asArray(json.PricingProductData)) {
    const read = readOperatorPricing(raw, skipped);
    if (read) operators.push(read);
  }
  if (skipped.length > 0) {
    client.log.warn(
      { operation: "PullPricingProductData", skipped: skipped.length, first: skipped.slice(0, 20) },
      "skipped unreadable pricing records",
    );
  }
  return { operators, skipped };
}

/** The answer as JSON with exact numbers, after the StatusCode check (shared with pull-evse-pricing.ts). */
export async function pullJson(
  client: HubjectClient,
  operation: "PullPricingProductData" | "PullEvsePricing",
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const answer = await client.post({ operation, path, body, timeoutMs: client.requestTimeoutMs, idempotent: true });
  client.expectOk(answer);
  const { processId } = answer;
  // Re-read from the text with lossless-json: a price such as 0.1 must not pass through a float.
  const text = answer.exchange.type === "response" ? answer.exchange.text : "";
  let json: unknown;
  try {
    json = parseOicpJson(text);
  } catch {
    throw badResponse(`${operation}: body is not JSON`, processId);
  }
  if (!isRecord(json)) throw badResponse(`${operation}: body is not a JSON object`, processId);
  const status = readStatusCode(json.StatusCode);
  if (status && status.code !== "000") throw errorForStatus(operation, status, 200, processId);
  return json;
}

const isUnit = (value: unknown): value is ReferenceUnit =>
  typeof value === "string" && (REFERENCE_UNITS as readonly string[]).includes(value);
const providerOk = (value: string | null): value is string => value !== null && (value === "*" || PROVIDER_ID.test(value));

/** One operator block, or null (recorded in `skipped`) when its mandatory fields cannot be read. Exported for tests. */
export function readOperatorPricing(raw: unknown, skipped: SkippedPricingRecord[]): OperatorPricing | null {
  if (!isRecord(raw)) return skip(skipped, null, "operator block is not an object");
  const operatorId = readString(raw.OperatorID);
  if (!operatorId || !OPERATOR_ID.test(operatorId)) return skip(skipped, operatorId, "OperatorID missing or malformed");
  const providerId = readString(raw.ProviderID);
  if (!providerOk(providerId)) return skip(skipped, operatorId, "ProviderID missing or malformed");
  const price = readOicpDecimal(raw.PricingDefaultPrice);
  const currency = readString(raw.PricingDefaultPriceCurrency);
  const unit = raw.PricingDefaultReferenceUnit;
  if (!price.ok) return skip(skipped, operatorId, `PricingDefaultPrice: ${price.problem}`);
  if (!currency || !CURRENCY.test(currency)) return skip(skipped, operatorId, "PricingDefaultPriceCurrency is not an ISO 4217 code");
  if (!isUnit(unit)) return skip(skipped, operatorId, "PricingDefaultReferenceUnit unknown");
  const products: PricingProduct[] = [];
  for (const record of asArray(raw.PricingProductDataRecords)) {
    const product = readProduct(record, operatorId, providerId);
    if ("reason" in product) skipped.push(product);
    else products.push(product);
  }
  return {
    defaults: { operatorId, operatorName: readString(raw.OperatorName), providerId, price: price.value, currency, referenceUnit: unit },
    products,
  };
}

function readProduct(raw: unknown, operatorId: string, providerId: string): PricingProduct | SkippedPricingRecord {
  if (!isRecord(raw)) return { id: null, reason: `${operatorId}: product is not an object` };
  const productId = readString(raw.ProductID);
  const id = productId ? `${operatorId}/${productId}` : operatorId;
  if (!productId || productId.length > PRODUCT_ID_MAX) return { id, reason: "ProductID missing or longer than 50" };
  if (!isUnit(raw.ReferenceUnit)) return { id, reason: "ReferenceUnit unknown" };
  const currency = readString(raw.ProductPriceCurrency);
  if (!currency || !CURRENCY.test(currency)) return { id, reason: "ProductPriceCurrency is not an ISO 4217 code" };
  const price = readOicpDecimal(raw.PricePerReferenceUnit);
  if (!price.ok) return { id, reason: `PricePerReferenceUnit: ${price.problem}` };
  const power = readOicpDecimal(raw.MaximumProductChargingPower);
  const additionalReferences: AdditionalReference[] = [];
  for (const ref of asArray(raw.AdditionalReferences)) {
    if (!isRecord(ref)) return { id, reason: "AdditionalReferences entry is not an object" };
    const kind = readString(ref.AdditionalReference);
    const amount = readOicpDecimal(ref.PricePerAdditionalReferenceUnit);
    if (!kind || !isUnit(ref.AdditionalReferenceUnit) || !amount.ok) return { id, reason: "AdditionalReferences entry incomplete" };
    // Unknown kinds are kept verbatim (open enums); the estimate leaves them out.
    additionalReferences.push({ kind, unit: ref.AdditionalReferenceUnit, pricePerUnit: amount.value });
  }
  return {
    operatorId,
    providerId,
    productId,
    referenceUnit: raw.ReferenceUnit,
    pricePerReferenceUnit: price.value,
    currency,
    maximumPowerKw: power.ok ? power.value : "0",
    isValid24Hours: raw.IsValid24hours !== false,
    availability: readAvailability(raw.ProductAvailabilityTimes),
    additionalReferences,
  };
}

/** `Periods` in pricing, `Period` in opening times (docs/oicp.md#e14): both read; `on` or `On`. */
function readAvailability(value: unknown): AvailabilityTime[] {
  return asArray(value)
    .filter(isRecord)
    .map((time) => ({
      on: readString(time.on) ?? readString(time.On) ?? "Everyday",
      periods: asArray(time.Periods ?? time.Period)
        .filter(isRecord)
        .map((p) => ({ begin: readString(p.begin) ?? "", end: readString(p.end) ?? "" })),
    }));
}

function skip(skipped: SkippedPricingRecord[], id: string | null, reason: string): null {
  skipped.push({ id, reason });
  return null;
}
