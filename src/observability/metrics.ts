// Prometheus metrics (prom-client). One registry per gateway instance, so that several gateways in
// one process (tests) never share counters; /metrics serves it.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { AuthorizationMetrics } from "../identifications/authorize.js";
import type { IdentificationPushMetrics } from "../identifications/push.js";
import type { HubjectExchangeObservation } from "../oicp/client/hubject.client.js";
import type { SessionMetrics } from "../sessions/ports.js";

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly graphqlRequests = new Counter({
    name: "gateway_graphql_requests_total",
    help: "GraphQL operations by transport, type and outcome",
    labelNames: ["transport", "operation_type", "outcome"] as const,
    registers: [this.registry],
  });

  readonly hubjectCalls = new Counter({
    name: "gateway_hubject_calls_total",
    help: "Calls to Hubject by operation, outcome (HTTP status, transport failure, circuit-open, or held by Retry-After) and OICP status code",
    labelNames: ["operation", "outcome", "oicp_code"] as const,
    registers: [this.registry],
  });

  readonly hubjectCallSeconds = new Histogram({
    name: "gateway_hubject_call_duration_seconds",
    help: "Duration of calls to Hubject (remote start/stop include the CPO's up to 60 s)",
    labelNames: ["operation"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 90],
    registers: [this.registry],
  });

  readonly remoteStartOutcomes = new Counter({
    name: "gateway_remote_start_outcomes_total",
    help: "Remote starts by outcome: ACCEPTED, or the ChargingError code the driver saw",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly startToCharging = new Histogram({
    name: "gateway_start_to_charging_seconds",
    help: "Time from the driver's startCharging to the session reaching CHARGING",
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly openSubscriptions = new Gauge({
    name: "gateway_open_subscriptions",
    help: "sessionUpdated subscriptions currently open on this replica",
    registers: [this.registry],
  });

  /** What gateway_pubsub_degraded reads when scraped (watchPubsub). */
  private pubsubDegradedNow: () => boolean = () => false;

  readonly pubsubDegraded: Gauge = new Gauge({
    name: "gateway_pubsub_degraded",
    help: "1 while session pushes may be missing on this replica: Redis unreachable, or the catch-up from the store after it not done yet",
    registers: [this.registry],
    collect: (): void => this.pubsubDegraded.set(this.pubsubDegradedNow() ? 1 : 0),
  });

  /** gateway_pubsub_degraded follows `degraded` from now on. */
  watchPubsub(degraded: () => boolean): void {
    this.pubsubDegradedNow = degraded;
  }

  readonly notificationLag = new Histogram({
    name: "gateway_notification_lag_seconds",
    help: "Time from the event at the charger (EventOccurred, ChargingStart, ChargingEnd, SessionEnd) to its arrival",
    labelNames: ["type"] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600],
    registers: [this.registry],
  });

  readonly inboundMessages = new Counter({
    name: "gateway_inbound_messages_total",
    help: "Messages Hubject sent us by what became of them: stored (applied or waiting for its session), duplicate, conflict (a second, different CDR), mismatch (does not fit the session it names), rejected (stored, unreadable, answered 022), unstorable (too large or not JSON, answered 022)",
    labelNames: ["type", "result"] as const,
    registers: [this.registry],
  });

  readonly evseStatusReads = new Counter({
    name: "gateway_evse_status_reads_total",
    help: "EVSE statuses read, by where they came from: the shared cache, a Hubject call, a stale cache entry (no call could be made) or none (a retryable error)",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });

  readonly catalogueRecordsSkipped = new Counter({
    name: "gateway_catalogue_records_skipped_total",
    help: "EVSE data records from PullEvseData that could not be read and were skipped (the rest of the sync went on)",
    registers: [this.registry],
  });

  readonly inboundAnomalies = new Counter({
    name: "gateway_inbound_anomalies_total",
    help: "Figures in Hubject's messages that were missing, repaired, without a UTC offset, or implausible (withheld)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly identificationPushCalls = new Counter({
    name: "gateway_identification_push_calls_total",
    help: "PushAuthenticationData calls (offline authorization) by action (fullLoad, insert, update, delete) and outcome: accepted, refused (Result false), failed (certainly not applied), unknown (may have been applied)",
    labelNames: ["action", "outcome"] as const,
    registers: [this.registry],
  });

  readonly identificationPushRecords = new Counter({
    name: "gateway_identification_push_records_total",
    help: "Identification records Hubject accepted in PushAuthenticationData calls, by action",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });

  readonly authorizations = new Counter({
    name: "gateway_authorizations_total",
    help: "AuthorizeStart / AuthorizeStop requests from Hubject by operation and result: authorized, or the refusal (UNKNOWN: not one of ours, BLOCKED, EXPIRED, WRONG_PIN, NOT_FOR_CHARGERS, SESSION_UNKNOWN, NOT_ALLOWED, UNAVAILABLE)",
    labelNames: ["operation", "result"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "gateway_" });
  }
}

/** The domain's SessionMetrics port, on these metrics. */
export function sessionMetrics(metrics: GatewayMetrics): SessionMetrics {
  return {
    remoteStart: (outcome) => metrics.remoteStartOutcomes.inc({ outcome }),
    reachedCharging: (seconds) => metrics.startToCharging.observe(seconds),
    inbound: (type, state, lag) => {
      // A new message taken in (applied, or waiting for its session) counts as "stored".
      const result = state === "applied" || state === "waiting" || state === "received" ? "stored" : state;
      metrics.inboundMessages.inc({ type, result });
      if (lag !== null) metrics.notificationLag.observe({ type }, lag);
    },
    anomaly: (kind) => metrics.inboundAnomalies.inc({ kind }),
  };
}

/** The identifications pusher's IdentificationPushMetrics port, on these metrics. */
/** Authorizations at the charger (identifications/authorize.ts), on these metrics. */
export function authorizationMetrics(metrics: GatewayMetrics): AuthorizationMetrics {
  return { authorization: (operation, result) => metrics.authorizations.inc({ operation, result }) };
}

export function identificationPushMetrics(metrics: GatewayMetrics): IdentificationPushMetrics {
  return {
    call: (action, outcome) => metrics.identificationPushCalls.inc({ action, outcome }),
    records: (action, count) => metrics.identificationPushRecords.inc({ action }, count),
  };
}

/** The Hubject client's per-exchange observer, on these metrics. */
export function hubjectObserver(metrics: GatewayMetrics): (observation: HubjectExchangeObservation) => void {
  return ({ operation, outcome, oicpCode, seconds }) => {
    metrics.hubjectCalls.inc({ operation, outcome, oicp_code: oicpCode ?? "none" });
    if (outcome !== "circuit-open" && outcome !== "held") metrics.hubjectCallSeconds.observe({ operation }, seconds);
  };
}
