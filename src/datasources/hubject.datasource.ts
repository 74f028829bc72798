// The Hubject datasource the use cases and resolvers see: a thin facade over the OICP client
// (src/oicp/client), implementing the domain's ports for remote charging, EVSE status and CDRs.
//
// Outcome rules (docs/oicp.md#status-codes, #lost-answer):
// * Remote start/stop are never retried. Anything that may have reached Hubject (timeout, a
//   connection lost after the request was written, 408/5xx, an unreadable 200) is "unknown":
//   the caller reconciles instead of re-sending. "failed" means nothing was executed.
// * The safe pulls throw a HubjectError with a `retryable` flag, after the client has retried
//   the transient failures with exponential backoff and jitter (docs/oicp.md#rate-limits).
// * One circuit breaker guards every call: while Hubject is down, calls fail fast.

import type { EvseDataPage, EvseDataSource } from "../catalogue/ports.js";
import type { AuthenticationDataPush, PushAction, PushOutcome } from "../identifications/push.js";
import type { HubjectConfigurationProblem } from "../oicp/client/configuration-watch.js";
import { HubjectClient, type HubjectClientOptions, type HubjectClientTestOverrides } from "../oicp/client/hubject.client.js";
import {
  type CdrQuery,
  chargeDetailRecordPages,
  chargeDetailRecordTexts,
  getChargeDetailRecords,
} from "../oicp/client/operations/get-charge-detail-records.js";
import { pullEvseData } from "../oicp/client/operations/pull-evse-data.js";
import { pullEvsePricing } from "../oicp/client/operations/pull-evse-pricing.js";
import { pullEvseStatus, pullEvseStatusByOperatorId } from "../oicp/client/operations/pull-evse-status.js";
import { pullEvseStatusById } from "../oicp/client/operations/pull-evse-status-by-id.js";
import { pullPricingProductData } from "../oicp/client/operations/pull-pricing-product-data.js";
import { pushAuthenticationData } from "../oicp/client/operations/push-authentication-data.js";
import { authorizeRemoteStart } from "../oicp/client/operations/remote-start.js";
import { authorizeRemoteStop } from "../oicp/client/operations/remote-stop.js";
import type { HubjectCircuitState, HubjectResilienceOptions } from "../oicp/client/resilience.js";
import type { OicpIdentification } from "../oicp/wire/identification.js";
import type { OicpChargeDetailRecord, OicpEvseStatus } from "../oicp/wire/types.js";
import type { PricingSource } from "../pricing/ports.js";
import type {
  CdrSource,
  EvseStatusSource,
  RemoteCallOutcome,
  RemoteCharging,
  RemoteStartRequest,
  RemoteStopRequest,
} from "../sessions/ports.js";

export { HubjectError } from "../oicp/client/errors.js";
export type HubjectDatasourceOptions = HubjectClientOptions;

export class HubjectDatasource implements RemoteCharging, EvseStatusSource, CdrSource, AuthenticationDataPush, EvseDataSource {
  private readonly client: HubjectClient;

  constructor(options: HubjectDatasourceOptions, testOverrides?: HubjectClientTestOverrides) {
    this.client = new HubjectClient(options, testOverrides);
  }

  /** Effective settings, for diagnostics and tests. */
  get remoteTimeoutMs(): number {
    return this.client.remoteTimeoutMs;
  }
  get requestTimeoutMs(): number {
    return this.client.requestTimeoutMs;
  }
  get resilience(): Readonly<Required<HubjectResilienceOptions>> {
    return this.client.resilience;
  }
  get providerId(): string {
    return this.client.providerId;
  }

  authorizeRemoteStart(req: RemoteStartRequest): Promise<RemoteCallOutcome> {
    return authorizeRemoteStart(this.client, req);
  }

  authorizeRemoteStop(req: RemoteStopRequest): Promise<RemoteCallOutcome> {
    return authorizeRemoteStop(this.client, req);
  }

  pullEvseStatusById(evseIds: readonly string[]): Promise<Map<string, OicpEvseStatus>> {
    return pullEvseStatusById(this.client, evseIds);
  }

  /** One page of EVSE data (docs/oicp.md#evse-data); unreadable records are counted, not returned. */
  async pullEvseData(query: { page: number; size: number; lastCall: Date | null }): Promise<EvseDataPage> {
    const page = await pullEvseData(this.client, query);
    return { records: page.records, deletedIds: page.deletedIds, skipped: page.skipped.length, last: page.last };
  }

  /** All statuses (6 calls/min) or those of some operators (75 calls/min), docs/oicp.md#evse-status. */
  pullEvseStatus(operatorIds?: readonly string[]): Promise<Array<{ evseId: string; status: OicpEvseStatus }>> {
    return operatorIds && operatorIds.length > 0 ? pullEvseStatusByOperatorId(this.client, operatorIds) : pullEvseStatus(this.client);
  }

  getChargeDetailRecords(
    req: CdrQuery & { page?: number; size?: number },
  ): Promise<{ records: OicpChargeDetailRecord[]; last: boolean; totalPages: number }> {
    return getChargeDetailRecords(this.client, req);
  }

  chargeDetailRecordPages(req: CdrQuery & { pageSize?: number }): AsyncGenerator<OicpChargeDetailRecord[], void, undefined> {
    return chargeDetailRecordPages(this.client, req);
  }

  chargeDetailRecordTexts(req: CdrQuery & { pageSize?: number }): AsyncGenerator<string[], void, undefined> {
    return chargeDetailRecordTexts(this.client, req);
  }

  /** Dynamic pricing (docs/oicp.md#pricing): safe reads, retried on transient failures. */
  pullPricingProductData(operatorIds: readonly string[], lastCall: Date | null): ReturnType<PricingSource["pullPricingProductData"]> {
    return pullPricingProductData(this.client, operatorIds, lastCall);
  }

  pullEvsePricing(operatorIds: readonly string[], lastCall: Date | null): ReturnType<PricingSource["pullEvsePricing"]> {
    return pullEvsePricing(this.client, operatorIds, lastCall);
  }

  /** Offline authorization: one push at a time, never retried here (src/identifications/push.ts retries). */
  pushAuthenticationData(action: PushAction, identifications: readonly OicpIdentification[]): Promise<PushOutcome> {
    return pushAuthenticationData(this.client, action, identifications);
  }

  /** For a readiness endpoint: it never calls Hubject (the AUP forbids calls just to see whether Hubject is up). */
  circuitState(): HubjectCircuitState {
    return this.client.circuitState();
  }

  /** The configuration failure seen since the last successful call (latest kind), or null. */
  configurationProblem(): HubjectConfigurationProblem | null {
    return this.client.configurationProblem();
  }

  /** Destroys the keep-alive agents; later calls fail as unreachable. */
  close(): void {
    this.client.close();
  }
}
