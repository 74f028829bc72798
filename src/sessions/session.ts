// The gateway's domain: a charging session as the driver's app sees it.
// Nothing here knows OICP's JSON; src/oicp and src/datasources translate to and from it.

export const SESSION_STATUSES = [
  "REQUESTED",
  "OUTCOME_UNKNOWN",
  "ACCEPTED",
  "REJECTED",
  "CHARGING",
  "STOP_REQUESTED",
  "CHARGING_ENDED",
  "COMPLETED",
  "FAILED",
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** The authenticated caller: `sub` and the contracts (EvcoIDs) the token grants. */
export interface Driver {
  id: string;
  evcoIds: readonly string[];
}

/** Statuses after which nothing but a CDR can change the session (docs/oicp.md#out-of-order). */
export const TERMINAL_STATUSES: ReadonlySet<SessionStatus> = new Set(["REJECTED", "COMPLETED", "FAILED"]);
export const isActive = (status: SessionStatus): boolean => !TERMINAL_STATUSES.has(status);

export interface StatusCode {
  /** OICP code as a three-character string ("000", "603"). */
  code: string;
  description: string | null;
  additionalInfo: string | null;
}

/** APP: started with startCharging. CHARGER: started at the charger (RFID, Plug&Charge) and learnt from Hubject's messages. */
export type SessionOrigin = "APP" | "CHARGER";

/** Where the session's latest figures came from. */
export type FiguresSource = "NOTIFICATION" | "CHARGE_DETAIL_RECORD" | "EVSE_STATUS" | "INFERRED";

export interface ChargeDetailRecord {
  hubjectSessionId: string;
  evseId: string;
  evcoId: string | null;
  partnerProductId: string | null;
  sessionStart: Date;
  sessionEnd: Date;
  chargingStart: Date;
  chargingEnd: Date;
  /** Billable energy, decimal(,3) kWh kept as a string so that no float rounding creeps in. */
  consumedEnergyKwh: string;
  meterValueStart: string | null;
  meterValueEnd: string | null;
  receivedAt: Date;
  /** The record as the CPO sent it (offsets kept: they decide day/night tariffs, docs/oicp.md#datetime). */
  raw: Record<string, unknown>;
}

export interface ChargingSession {
  /** The gateway's own UUID; also sent to Hubject as EMPPartnerSessionID. */
  id: string;
  driverId: string;
  origin: SessionOrigin;
  hubjectSessionId: string | null;
  cpoPartnerSessionId: string | null;
  evseId: string;
  evcoId: string;
  partnerProductId: string | null;
  status: SessionStatus;
  lastStatusCode: StatusCode | null;
  requestedAt: Date;
  chargingStartedAt: Date | null;
  chargingEndedAt: Date | null;
  sessionStartedAt: Date | null;
  sessionEndedAt: Date | null;
  stopRequestedAt: Date | null;
  updatedAt: Date;
  /** kWh as a decimal string; see ChargeDetailRecord.consumedEnergyKwh. */
  consumedEnergyKwh: string | null;
  /** EventOccurred of the newest Progress applied: older ones are dropped (docs/oicp.md#out-of-order). */
  lastProgressAt: Date | null;
  /** When the gateway last heard anything about this session from upstream. */
  lastEventAt: Date | null;
  figuresSource: FiguresSource | null;
  errorType: string | null;
  errorInfo: string | null;
  chargeDetailRecord: ChargeDetailRecord | null;
  /** Optimistic-concurrency counter: every stored change increments it. */
  version: number;
}

/**
 * Everything that can happen to a session. Each comes from exactly one source:
 * the driver (stop), Hubject's answer to our call (start/stop outcome), or an
 * inbound message (notification, CDR).
 */
export type SessionEvent =
  | { type: "START_ACCEPTED"; at: Date; hubjectSessionId: string | null; cpoPartnerSessionId: string | null; statusCode: StatusCode }
  | { type: "START_REJECTED"; at: Date; statusCode: StatusCode }
  /** Timeout, dropped connection or 310: the charger may still start (docs/oicp.md#lost-answer, #code-310). */
  | { type: "START_OUTCOME_UNKNOWN"; at: Date; hubjectSessionId: string | null; statusCode: StatusCode | null }
  | { type: "STOP_REQUESTED"; at: Date }
  | { type: "STOP_ACCEPTED"; at: Date; statusCode: StatusCode }
  | { type: "STOP_REJECTED"; at: Date; statusCode: StatusCode }
  | {
      type: "CHARGING_STARTED";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      chargingStart: Date | null;
      sessionStart: Date | null;
    }
  | {
      type: "CHARGING_PROGRESS";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      eventOccurred: Date;
      chargingStart: Date | null;
      sessionStart: Date | null;
      consumedEnergyKwh: string | null;
    }
  | {
      type: "CHARGING_ENDED";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      chargingStart: Date | null;
      sessionStart: Date | null;
      chargingEnd: Date;
      sessionEnd: Date | null;
      consumedEnergyKwh: string | null;
    }
  | {
      type: "CHARGING_ERROR";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      errorType: string;
      errorInfo: string | null;
    }
  | { type: "CDR_RECEIVED"; at: Date; cpoPartnerSessionId: string | null; cdr: ChargeDetailRecord }
  /**
   * The reconciler looked at the EVSE of a session whose start outcome is unknown (docs/oicp.md#lost-answer):
   * Occupied means the charger most likely started; still free after `giveUp` means it did not.
   */
  | { type: "EVSE_OBSERVED"; at: Date; occupied: boolean; giveUp: boolean };

export type SessionEventType = SessionEvent["type"];

/**
 * A charging session is stale when nothing was heard from upstream for `staleAfterMs`
 * (Progress may come every 5 minutes, or never: docs/oicp.md#notifications, #optional-notifications). Derived, never stored.
 */
export function isStale(session: ChargingSession, now: Date, staleAfterMs: number): boolean {
  if (session.status !== "CHARGING" && session.status !== "STOP_REQUESTED") return false;
  const lastHeard = session.lastEventAt ?? session.chargingStartedAt ?? session.requestedAt;
  return now.getTime() - lastHeard.getTime() > staleAfterMs;
}
