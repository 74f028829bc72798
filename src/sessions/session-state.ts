// The one session state machine: a pure function (session, event) -> next session | null.
// No I/O, so every ordering case of docs/oicp.md#session-flow is a microsecond unit test.
//
// The status only moves forward along
//   REQUESTED → OUTCOME_UNKNOWN → ACCEPTED → CHARGING → STOP_REQUESTED → CHARGING_ENDED → COMPLETED
// with REJECTED and FAILED as side exits. COMPLETED is final. A CDR completes any session that
// is not yet COMPLETED: it is the billable truth and may arrive without anything before it
// (docs/oicp.md#cdr-is-final). The steps back are a stop that did not happen (refused, or not
// confirmed while the EVSE still charges): the charger kept charging, and saying otherwise would
// lie to the driver. The energy shown never goes down: a lower reading is kept as an anomaly.
import { compareDecimals, maxDecimal } from "../lib/decimal.js";
import {
  type ChargeDetailRecord,
  type ChargingSession,
  type FigureAnomaly,
  MAX_SESSION_ANOMALIES,
  type MessageFacts,
  type SessionEvent,
  type SessionStatus,
} from "./session.js";

const RANK: Record<SessionStatus, number> = {
  REQUESTED: 0,
  OUTCOME_UNKNOWN: 1,
  ACCEPTED: 2,
  CHARGING: 3,
  STOP_REQUESTED: 4,
  CHARGING_ENDED: 5,
  REJECTED: 6,
  FAILED: 6,
  COMPLETED: 7,
};

const isFinal = (status: SessionStatus) => status === "COMPLETED" || status === "REJECTED" || status === "FAILED";
const awaitingAnswer = (status: SessionStatus) => status === "REQUESTED" || status === "OUTCOME_UNKNOWN";

/** Moves forward to `target` unless the session is already there, beyond it, or final. */
function advance(current: SessionStatus, target: SessionStatus): SessionStatus {
  return isFinal(current) || RANK[current] >= RANK[target] ? current : target;
}

/** Returns the session after `event`, or null when the event changes nothing (duplicate, stale, too late). */
export function applySessionEvent(session: ChargingSession, event: SessionEvent): ChargingSession | null {
  const next = transition(session, event);
  if (!next || sameState(session, next)) return null;
  // A message received a moment before a change made elsewhere may be applied after it (the
  // writer retries on a version conflict): the session's time of change still never goes back.
  const updatedAt = event.at.getTime() < session.updatedAt.getTime() ? session.updatedAt : event.at;
  return { ...next, updatedAt, version: session.version + 1 };
}

function transition(s: ChargingSession, e: SessionEvent): ChargingSession | null {
  const heard = { lastEventAt: e.at };
  switch (e.type) {
    case "START_ACCEPTED":
      return {
        ...s,
        hubjectSessionId: s.hubjectSessionId ?? e.hubjectSessionId,
        cpoPartnerSessionId: s.cpoPartnerSessionId ?? e.cpoPartnerSessionId,
        // A Start notification may have beaten the answer (docs/oicp.md#early-messages): then the status is already further.
        status: advance(s.status, "ACCEPTED"),
        lastStatusCode: awaitingAnswer(s.status) ? e.statusCode : s.lastStatusCode,
        ...heard,
      };

    case "START_REJECTED":
      if (!awaitingAnswer(s.status)) return null;
      return { ...s, status: "REJECTED", lastStatusCode: e.statusCode, ...heard };

    case "START_OUTCOME_UNKNOWN":
      if (s.status !== "REQUESTED") return null;
      return {
        ...s,
        status: "OUTCOME_UNKNOWN",
        // A 310 answer can carry the SessionID (example 04): keep it so later messages match.
        hubjectSessionId: s.hubjectSessionId ?? e.hubjectSessionId,
        lastStatusCode: e.statusCode,
        ...heard,
      };

    case "STOP_REQUESTED":
      if (s.status !== "ACCEPTED" && s.status !== "CHARGING" && s.status !== "OUTCOME_UNKNOWN") return null;
      return { ...s, status: "STOP_REQUESTED", stopRequestedAt: e.at };

    case "STOP_AUTHORIZED":
      // The charger asked us; it stops on our yes. Recorded whatever the status, once.
      if (s.stopIdentificationId !== null && s.stopIdentificationId === e.identificationId) return null;
      if (s.status !== "ACCEPTED" && s.status !== "CHARGING" && s.status !== "STOP_REQUESTED") {
        return { ...s, stopIdentificationId: e.identificationId, ...heard };
      }
      return {
        ...s,
        status: "STOP_REQUESTED",
        stopRequestedAt: s.stopRequestedAt ?? e.at,
        stopIdentificationId: e.identificationId,
        ...heard,
      };

    case "STOP_ACCEPTED":
      return { ...s, lastStatusCode: e.statusCode, ...heard };

    case "STOP_REJECTED":
      if (s.status !== "STOP_REQUESTED") return { ...s, lastStatusCode: e.statusCode, ...heard };
      return { ...s, status: s.chargingStartedAt ? "CHARGING" : "ACCEPTED", stopRequestedAt: null, lastStatusCode: e.statusCode, ...heard };

    case "STOP_SETTLED":
      if (s.status !== "STOP_REQUESTED") return null;
      if (e.ended) {
        return {
          ...s,
          status: "CHARGING_ENDED",
          chargingEndedAt: s.chargingEndedAt ?? e.at,
          figuresSource: "INFERRED",
          errorInfo: e.reason,
          ...heard,
        };
      }
      return { ...s, status: s.chargingStartedAt ? "CHARGING" : "ACCEPTED", stopRequestedAt: null, errorInfo: e.reason, ...heard };

    case "CHARGING_STARTED":
      if (isFinal(s.status)) return null;
      return {
        ...s,
        ...sessionIds(s, e),
        ...facts(s, e),
        status: advance(s.status, "CHARGING"),
        chargingStartedAt: s.chargingStartedAt ?? e.chargingStart ?? e.at,
        sessionStartedAt: s.sessionStartedAt ?? e.sessionStart,
        figuresSource: s.figuresSource ?? "NOTIFICATION",
        ...heard,
      };

    case "CHARGING_PROGRESS": {
      // Older (or repeated) readings are dropped; after End or a CDR the final figures win (docs/oicp.md#out-of-order).
      if (isFinal(s.status) || s.status === "CHARGING_ENDED") return null;
      if (s.lastProgressAt && e.eventOccurred.getTime() <= s.lastProgressAt.getTime()) return null;
      const energy = notLower(s, e.consumedEnergyKwh, "ConsumedEnergyProgress");
      return {
        ...s,
        ...sessionIds(s, e),
        ...facts(s, e, energy.anomaly),
        status: advance(s.status, "CHARGING"),
        chargingStartedAt: s.chargingStartedAt ?? e.chargingStart,
        sessionStartedAt: s.sessionStartedAt ?? e.sessionStart,
        consumedEnergyKwh: energy.value,
        lastProgressAt: e.eventOccurred,
        figuresSource: "NOTIFICATION",
        ...heard,
      };
    }

    case "CHARGING_ENDED": {
      // End after the CDR changes nothing: the CDR already holds the final figures.
      if (s.status === "COMPLETED" || s.status === "REJECTED") return null;
      const energy = notLower(s, e.consumedEnergyKwh, "ConsumedEnergy");
      return {
        ...s,
        ...sessionIds(s, e),
        ...facts(s, e, energy.anomaly),
        status: advance(s.status, "CHARGING_ENDED"),
        chargingStartedAt: s.chargingStartedAt ?? e.chargingStart,
        sessionStartedAt: s.sessionStartedAt ?? e.sessionStart,
        chargingEndedAt: e.chargingEnd ?? s.chargingEndedAt,
        sessionEndedAt: e.sessionEnd ?? s.sessionEndedAt,
        consumedEnergyKwh: energy.value,
        figuresSource: "NOTIFICATION",
        ...heard,
      };
    }

    case "CHARGING_ERROR":
      if (isFinal(s.status)) return null;
      return {
        ...s,
        ...sessionIds(s, e),
        ...facts(s, e),
        // After End the energy has already stopped; the CDR decides. Before that, the session failed.
        status: s.status === "CHARGING_ENDED" ? s.status : "FAILED",
        errorType: e.errorType,
        errorInfo: e.errorInfo,
        ...heard,
      };

    case "START_NOT_CONFIRMED":
      if (!awaitingAnswer(s.status)) return null;
      return {
        ...s,
        status: "REJECTED",
        errorInfo:
          e.evseOccupied === true
            ? "Not confirmed: the charging point is in use, but nothing showed it is this session."
            : e.evseOccupied === false
              ? "Not started: the charging point stayed free after the unconfirmed start."
              : "Not confirmed: nothing showed that this session started.",
        figuresSource: "INFERRED",
        ...heard,
      };

    case "CDR_RECEIVED":
      if (s.status === "COMPLETED") return null;
      return withCdr(s, e.cdr, e.cpoPartnerSessionId, e.at);

    case "CDR_CHOSEN":
      return withCdr(s, e.cdr, null, e.at);

    case "FIGURES_WITHHELD":
      if (e.anomalies.length === 0) return null;
      return { ...s, ...facts(s, { offsets: {}, anomalies: e.anomalies }) };
  }
}

/** The CDR's figures where it has them; what it lacks stays as the notifications left it. */
function withCdr(s: ChargingSession, cdr: ChargeDetailRecord, cpoPartnerSessionId: string | null, at: Date): ChargingSession {
  const energy = notLower(s, cdr.consumedEnergyKwh, "ConsumedEnergy");
  return {
    ...s,
    hubjectSessionId: s.hubjectSessionId ?? cdr.hubjectSessionId,
    cpoPartnerSessionId: s.cpoPartnerSessionId ?? cpoPartnerSessionId,
    ...facts(s, cdr, energy.anomaly),
    status: "COMPLETED",
    chargingStartedAt: cdr.chargingStart ?? s.chargingStartedAt,
    chargingEndedAt: cdr.chargingEnd ?? s.chargingEndedAt,
    sessionStartedAt: cdr.sessionStart ?? s.sessionStartedAt,
    sessionEndedAt: cdr.sessionEnd ?? s.sessionEndedAt,
    consumedEnergyKwh: energy.value,
    chargeDetailRecord: cdr,
    figuresSource: "CHARGE_DETAIL_RECORD",
    lastEventAt: at,
  };
}

/** A new energy reading, unless it is lower than what the app already shows (then kept, and said). */
function notLower(s: ChargingSession, reading: string | null, field: string): { value: string | null; anomaly: FigureAnomaly | null } {
  if (reading === null || s.consumedEnergyKwh === null || compareDecimals(reading, s.consumedEnergyKwh) >= 0) {
    return { value: maxDecimal(s.consumedEnergyKwh, reading), anomaly: null };
  }
  return {
    value: s.consumedEnergyKwh,
    anomaly: {
      field,
      kind: "IMPLAUSIBLE",
      detail: `${reading} kWh is below the ${s.consumedEnergyKwh} kWh already reported; the higher figure is kept`,
    },
  };
}

/** The message's offsets over the session's, and its anomalies after the session's (newest kept). */
function facts(s: ChargingSession, m: MessageFacts, extra: FigureAnomaly | null = null) {
  const incoming = extra ? [...m.anomalies, extra] : m.anomalies;
  const anomalies = incoming.length === 0 ? s.anomalies : [...s.anomalies, ...incoming].slice(-MAX_SESSION_ANOMALIES);
  const offsets = Object.keys(m.offsets).length === 0 ? s.offsets : { ...s.offsets, ...m.offsets };
  return { anomalies, offsets };
}

function sessionIds(s: ChargingSession, e: { hubjectSessionId: string; cpoPartnerSessionId: string | null }) {
  return {
    hubjectSessionId: s.hubjectSessionId ?? e.hubjectSessionId,
    cpoPartnerSessionId: s.cpoPartnerSessionId ?? e.cpoPartnerSessionId,
  };
}

/** Equal apart from bookkeeping: an event that only proves we heard something again is no change. */
function sameState(a: ChargingSession, b: ChargingSession): boolean {
  const strip = ({ updatedAt: _u, version: _v, lastEventAt: _l, ...rest }: ChargingSession) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
