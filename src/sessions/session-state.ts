// The one session state machine: a pure function (session, event) -> next session | null.
// No I/O, so every ordering case of docs/oicp.md#session-flow is a microsecond unit test.
//
// The status only moves forward along
//   REQUESTED → OUTCOME_UNKNOWN → ACCEPTED → CHARGING → STOP_REQUESTED → CHARGING_ENDED → COMPLETED
// with REJECTED and FAILED as side exits. COMPLETED is final. A CDR completes any session that
// is not yet COMPLETED: it is the billable truth and may arrive without anything before it
// (docs/oicp.md#cdr-is-final). The single step back is a refused stop: the charger kept charging, and
// saying otherwise would lie to the driver.
import type { ChargingSession, SessionEvent, SessionStatus } from "./session.js";

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
  return { ...next, updatedAt: event.at, version: session.version + 1 };
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

    case "STOP_ACCEPTED":
      return { ...s, lastStatusCode: e.statusCode, ...heard };

    case "STOP_REJECTED":
      if (s.status !== "STOP_REQUESTED") return { ...s, lastStatusCode: e.statusCode, ...heard };
      return {
        ...s,
        status: s.chargingStartedAt ? "CHARGING" : "ACCEPTED",
        stopRequestedAt: null,
        lastStatusCode: e.statusCode,
        ...heard,
      };

    case "CHARGING_STARTED":
      if (isFinal(s.status)) return null;
      return {
        ...s,
        ...sessionIds(s, e),
        status: advance(s.status, "CHARGING"),
        chargingStartedAt: s.chargingStartedAt ?? e.chargingStart ?? e.at,
        sessionStartedAt: s.sessionStartedAt ?? e.sessionStart,
        figuresSource: s.figuresSource ?? "NOTIFICATION",
        ...heard,
      };

    case "CHARGING_PROGRESS":
      // Older (or repeated) readings are dropped; after End or a CDR the final figures win (docs/oicp.md#out-of-order).
      if (isFinal(s.status) || s.status === "CHARGING_ENDED") return null;
      if (s.lastProgressAt && e.eventOccurred.getTime() <= s.lastProgressAt.getTime()) return null;
      return {
        ...s,
        ...sessionIds(s, e),
        status: advance(s.status, "CHARGING"),
        chargingStartedAt: s.chargingStartedAt ?? e.chargingStart,
        sessionStartedAt: s.sessionStartedAt ?? e.sessionStart,
        consumedEnergyKwh: e.consumedEnergyKwh ?? s.consumedEnergyKwh,
        lastProgressAt: e.eventOccurred,
        figuresSource: "NOTIFICATION",
        ...heard,
      };

    case "CHARGING_ENDED":
      // End after the CDR changes nothing: the CDR already holds the final figures.
      if (s.status === "COMPLETED" || s.status === "REJECTED") return null;
      return {
        ...s,
        ...sessionIds(s, e),
        status: advance(s.status, "CHARGING_ENDED"),
        chargingStartedAt: s.chargingStartedAt ?? e.chargingStart,
        sessionStartedAt: s.sessionStartedAt ?? e.sessionStart,
        chargingEndedAt: e.chargingEnd,
        sessionEndedAt: e.sessionEnd ?? s.sessionEndedAt,
        consumedEnergyKwh: e.consumedEnergyKwh ?? s.consumedEnergyKwh,
        figuresSource: "NOTIFICATION",
        ...heard,
      };

    case "CHARGING_ERROR":
      if (isFinal(s.status)) return null;
      return {
        ...s,
        ...sessionIds(s, e),
        // After End the energy has already stopped; the CDR decides. Before that, the session failed.
        status: s.status === "CHARGING_ENDED" ? s.status : "FAILED",
        errorType: e.errorType,
        errorInfo: e.errorInfo,
        ...heard,
      };

    case "EVSE_OBSERVED":
      if (s.status !== "OUTCOME_UNKNOWN") return null;
      if (e.occupied) return { ...s, status: "CHARGING", figuresSource: "EVSE_STATUS", ...heard };
      if (!e.giveUp) return null;
      return {
        ...s,
        status: "REJECTED",
        errorInfo: "Not started: the charging point stayed free after the unconfirmed start.",
        figuresSource: "INFERRED",
        ...heard,
      };

    case "CDR_RECEIVED": {
      if (s.status === "COMPLETED") return null;
      const cdr = e.cdr;
      return {
        ...s,
        hubjectSessionId: s.hubjectSessionId ?? cdr.hubjectSessionId,
        cpoPartnerSessionId: s.cpoPartnerSessionId ?? e.cpoPartnerSessionId,
        status: "COMPLETED",
        chargingStartedAt: cdr.chargingStart,
        chargingEndedAt: cdr.chargingEnd,
        sessionStartedAt: cdr.sessionStart,
        sessionEndedAt: cdr.sessionEnd,
        consumedEnergyKwh: cdr.consumedEnergyKwh,
        chargeDetailRecord: cdr,
        figuresSource: "CHARGE_DETAIL_RECORD",
        ...heard,
      };
    }
  }
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
