// The ports of the session domain: what the use cases need from the world, declared here and
// implemented by adapters (the Hubject datasource, the pub/sub, the rate limiter, the inbound
// parser). The store's port is session.store.ts. Nothing here knows HTTP, SQL or Redis.
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import type { AnomalyKind, ChargingSession, FigureAnomaly, SessionEvent, StatusCode } from "./session.js";
import type { InboundKind, InboundState } from "./session.store.js";

// ---- Hubject: remote start and stop ---------------------------------------------------------

/** How one remote start or stop went, as far as the gateway can know (docs/oicp.md#lost-answer). */
export type RemoteCallOutcome =
  | {
      kind: "answered";
      result: boolean;
      status: StatusCode;
      hubjectSessionId: string | null;
      cpoPartnerSessionId: string | null;
      empPartnerSessionId: string | null;
      processId: string | null;
    }
  /** The request may have reached Hubject or the CPO: timeout, connection lost after sending, 408/5xx, an unreadable 200. Never retried. */
  | {
      kind: "unknown";
      reason: "timeout" | "connection-lost" | "upstream-error" | "bad-response";
      detail: string;
      processId: string | null;
    }
  /** Certainly not executed: could not connect, 401/017, 403 firewall, 400 validation, 429, 404, circuit open (nothing sent). */
  | {
      kind: "failed";
      reason: "unreachable" | "unauthorized" | "forbidden" | "invalid-request" | "rate-limited" | "not-found" | "circuit-open";
      status: StatusCode;
      httpStatus: number | null;
      detail: string;
      processId: string | null;
    };

export interface RemoteStartRequest {
  evseId: string;
  evcoId: string;
  empPartnerSessionId: string;
  partnerProductId?: string | null;
}

export interface RemoteStopRequest {
  hubjectSessionId: string;
  evseId: string;
  empPartnerSessionId?: string | null;
  cpoPartnerSessionId?: string | null;
}

/** eRoamingAuthorizeRemoteStart / Stop through Hubject. Each call is sent once, never retried. */
export interface RemoteCharging {
  authorizeRemoteStart(req: RemoteStartRequest): Promise<RemoteCallOutcome>;
  authorizeRemoteStop(req: RemoteStopRequest): Promise<RemoteCallOutcome>;
}

// ---- Hubject: reads ---------------------------------------------------------------------------

/** Live EVSE status by id (PullEvseStatusById); every id asked comes back, "Unknown" when Hubject says nothing. */
export interface EvseStatusSource {
  pullEvseStatusById(evseIds: readonly string[]): Promise<Map<string, OicpEvseStatus>>;
}

/** CDRs Hubject holds (GetChargeDetailRecords), page by page, each as the exact JSON text Hubject sent. */
export interface CdrSource {
  chargeDetailRecordTexts(req: {
    from: Date;
    to: Date;
    cdrForwarded?: boolean;
    sessionIds?: string[];
    pageSize?: number;
  }): AsyncIterable<string[]>;
}

// ---- What Hubject tells us ----------------------------------------------------------------------

/** An inbound message read into the domain: which session it names, the event, and how to store it. */
export interface ParsedInbound {
  ids: InboundIds;
  event: SessionEvent;
  /** The OperatorID a notification names (optional in the spec, docs/oicp.md#e10). */
  operatorId?: string | null;
  /** The HubOperatorID a CDR names: a hub may post CDRs for the operators behind it. */
  hubOperatorId?: string | null;
  /** A CDR's MeterValueInBetween readings, in order (a meter running backwards is an anomaly). */
  meterValuesInBetween?: string[];
  message: {
    /** Notification Type or "CDR". */
    type: string;
    /** (SessionID, Type, EventOccurred/ChargingStart/ChargingEnd) for notifications, SessionID for CDRs (docs/oicp.md#duplicates). */
    dedupeKey: string;
    /** The content that matters for billing: two CDRs of one session with different hashes conflict. */
    contentHash: string;
    /** What reading found missing or repaired. */
    anomalies: FigureAnomaly[];
  };
}

/** What every inbound message tells us about which session it belongs to. */
export interface InboundIds {
  hubjectSessionId: string;
  empPartnerSessionId: string | null;
  cpoPartnerSessionId: string | null;
  evseId: string;
  evcoId: string | null;
  /** The card's UID when an RFID card identified the session (no EvcoID then). */
  uid?: string | null;
}

export type InboundReadResult =
  | { ok: true; value: ParsedInbound }
  /** `names`: what an unreadable message seems to name, unchecked, so an operator can find it. */
  | { ok: false; problem: string; names?: UncheckedNames };

export interface UncheckedNames {
  type: string | null;
  hubjectSessionId: string | null;
  empPartnerSessionId: string | null;
  evseId: string | null;
}

/** Reads a message body as Hubject sent it (the OICP reader implements it); used again for stored messages. */
export interface InboundReader {
  read(kind: InboundKind, text: string, receivedAt: Date): InboundReadResult;
}

/**
 * Who holds a card or contract presented at a charger (the identifications registry): a session
 * that Hubject authorized without asking us (offline) reaches the right driver.
 */
export interface ChargerIdentities {
  holderOf(presented: {
    uid: string | null;
    evcoId: string | null;
  }): Promise<{ driverId: string; evcoId: string; identificationId: string } | undefined>;
}

// ---- Fan-out to subscribers ----------------------------------------------------------------------

export type SessionTopic = { sessionId: string } | { driverId: string };

export interface PublishOptions {
  /**
   * The session is pushed again unchanged (same version), e.g. because it just turned stale:
   * delivered even to subscriptions that already delivered this version. Never an older one.
   */
  reannounce?: boolean;
}

/** Session changes to subscribers (in-process, or Redis across replicas): pubsub/. */
export interface SessionEvents {
  /** Never throws: a change that cannot be fanned out is logged (the store is the truth). */
  publish(session: ChargingSession, options?: PublishOptions): void;
  /** Every later change of the session, or of any session of the driver; versions strictly increase per session. */
  subscribe(topic: SessionTopic): AsyncIterable<ChargingSession>;
  /** Readiness: resolves when the fan-out works (Redis: a PING on both connections). */
  ping(): Promise<void>;
  /**
   * Called when changes may have been lost and could not be caught up from the store (Redis down,
   * then the store too): the app side then closes its subscription sockets so that clients
   * reconnect and read the current state. In-process events never lose a change.
   */
  onDeliveryLost?(listener: (reason: string) => void): void;
  /** True while changes may be missing (an outage not caught up yet): readiness and metrics report it. */
  degraded?(): boolean;
  /** Releases connections (Redis: ends live subscriptions and quits both connections). Idempotent. */
  close(): Promise<void>;
}

// ---- Limits, metrics, time -----------------------------------------------------------------------

/** Rate limits on what costs money or upstream budget (server/rate-limits.ts); each throws RATE_LIMITED. */
export interface MutationLimits {
  /** Every startCharging/stopCharging of a driver. */
  driverMutation(driverId: string): Promise<void>;
  /** A remote start that is about to reach Hubject (the EMP's budget, docs/oicp.md#rate-limits). */
  remoteStart(): Promise<void>;
}

export const NO_LIMITS: MutationLimits = { driverMutation: async () => undefined, remoteStart: async () => undefined };

/** What the use cases report to metrics (GatewayMetrics implements it). */
export interface SessionMetrics {
  /** "ACCEPTED" or the ChargingError code the driver saw. */
  remoteStart(outcome: string): void;
  /** An app-started session reached CHARGING this long after it was requested. */
  reachedCharging(seconds: number): void;
  /** A message from Hubject: what became of it (applied, waiting, duplicate, …), and how late it came after the event at the charger. */
  inbound(type: string, result: InboundState, lagSeconds: number | null): void;
  /** An anomaly found in a message's figures (missing, repaired, no offset, implausible). */
  anomaly(kind: AnomalyKind): void;
}

export interface Clock {
  now(): Date;
}

export const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/**
 * Whether a product is offered at an EVSE (src/pricing): "unknown" when no pricing data names the
 * EVSE at all, and then the start goes on as without prices.
 */
export interface ProductOffers {
  isOffered(evseId: string, productId: string): Promise<"offered" | "not-offered" | "unknown">;
}
