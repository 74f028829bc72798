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

/**
 * Something about a figure Hubject sent that the driver and the operator should know: it was
 * missing, it had to be repaired to be read, it carried no offset, or it cannot be true. A
 * figure that cannot be true is withheld (null) and never shown as fact.
 */
export type AnomalyKind = "MISSING" | "REPAIRED" | "NO_OFFSET" | "IMPLAUSIBLE";

export interface FigureAnomaly {
  /** The OICP field ("ConsumedEnergy", "ChargingStart", "MeterValueInBetween", …). */
  field: string;
  kind: AnomalyKind;
  /** One sentence for an operator or a support agent. */
  detail: string;
}

/** A session keeps the anomalies of its latest messages, no more than this many. */
export const MAX_SESSION_ANOMALIES = 20;

/** The four times a charger reports, by the name they have here. */
export type ChargerTimeField = "chargingStart" | "chargingEnd" | "sessionStart" | "sessionEnd";

/**
 * The UTC offset each time carried at the charger ("+02:00", "Z"); null: it carried none and was
 * read as UTC. Kept so that an app can show the local time the charger showed (docs/oicp.md#datetime).
 */
export type ChargerOffsets = Partial<Record<ChargerTimeField, string | null>>;

export interface ChargeDetailRecord {
  hubjectSessionId: string;
  evseId: string;
  evcoId: string | null;
  partnerProductId: string | null;
  /** Required by Hubject; null only when the figure cannot be true (see anomalies). */
  sessionStart: Date | null;
  sessionEnd: Date | null;
  /** Mandatory in OICP 2.3, yet Hubject forwards CDRs without them: null when missing or impossible. */
  chargingStart: Date | null;
  chargingEnd: Date | null;
  /** Billable energy, decimal(,3) kWh, an exact decimal string; null when missing or impossible. */
  consumedEnergyKwh: string | null;
  meterValueStart: string | null;
  meterValueEnd: string | null;
  offsets: ChargerOffsets;
  /** What was missing, repaired or impossible in this record. */
  anomalies: FigureAnomaly[];
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
  /** The offsets of the charger's times (see ChargerOffsets). */
  offsets: ChargerOffsets;
  /** Anomalies of the messages applied to this session, at most MAX_SESSION_ANOMALIES, newest kept. */
  anomalies: FigureAnomaly[];
  /** The identification that started it at the charger (AuthorizeStart, src/identifications); null for app starts. */
  identificationId: string | null;
  /** The identification whose stop at the charger was authorized (AuthorizeStop). */
  stopIdentificationId: string | null;
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
  /** A stop at the charger with an identification allowed to stop the session (AuthorizeStop). */
  | { type: "STOP_AUTHORIZED"; at: Date; identificationId: string | null }
  | { type: "STOP_ACCEPTED"; at: Date; statusCode: StatusCode }
  | { type: "STOP_REJECTED"; at: Date; statusCode: StatusCode }
  | ({
      type: "CHARGING_STARTED";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      chargingStart: Date | null;
      sessionStart: Date | null;
    } & MessageFacts)
  | ({
      type: "CHARGING_PROGRESS";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      eventOccurred: Date;
      chargingStart: Date | null;
      sessionStart: Date | null;
      consumedEnergyKwh: string | null;
    } & MessageFacts)
  | ({
      type: "CHARGING_ENDED";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      chargingStart: Date | null;
      sessionStart: Date | null;
      /** Null only when the time the charger sent cannot be true (see anomalies). */
      chargingEnd: Date | null;
      sessionEnd: Date | null;
      consumedEnergyKwh: string | null;
    } & MessageFacts)
  | ({
      type: "CHARGING_ERROR";
      at: Date;
      hubjectSessionId: string;
      cpoPartnerSessionId: string | null;
      errorType: string;
      errorInfo: string | null;
    } & MessageFacts)
  | { type: "CDR_RECEIVED"; at: Date; cpoPartnerSessionId: string | null; cdr: ChargeDetailRecord }
  /**
   * The reconciler found no evidence that an unconfirmed start began (no notification, no CDR,
   * no Hubject SessionID naming it) within the give-up time (docs/oicp.md#lost-answer). An
   * Occupied EVSE alone is no evidence: someone else's car may be charging there.
   */
  | { type: "START_NOT_CONFIRMED"; at: Date; evseOccupied: boolean | null }
  /**
   * A stop whose outcome is not known (timeout, 310, Hubject no longer knowing the session)
   * settled on what was found: the EVSE is free or Hubject has no such session (ended), or it is
   * still occupied by this session (charging goes on, the driver may stop again).
   */
  | { type: "STOP_SETTLED"; at: Date; ended: boolean; reason: string }
  /** The operator chose which of two different CDRs of the session stands (docs/oicp.md#duplicates). */
  | { type: "CDR_CHOSEN"; at: Date; cdr: ChargeDetailRecord }
  /**
   * A message with nothing that can be true (a Progress dated in the year 9999): none of its
   * figures apply, but the app shows that one came and why it was left out.
   */
  | { type: "FIGURES_WITHHELD"; at: Date; anomalies: FigureAnomaly[] };

/** What every applied message brings besides its figures: the charger's offsets and the anomalies found. */
export interface MessageFacts {
  offsets: ChargerOffsets;
  anomalies: FigureAnomaly[];
}

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
