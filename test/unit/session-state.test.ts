import { describe, expect, it } from "vitest";
import type { ChargeDetailRecord, ChargingSession, SessionEvent } from "../../src/sessions/session.js";
import { applySessionEvent } from "../../src/sessions/session-state.js";

const HUB = "5c1a7e8e-3b8f-4f5a-9d2e-7a1b2c3d4e5f";
const t = (minute: number) => new Date(Date.UTC(2024, 5, 12, 16, minute));
const ok = { code: "000", description: "Success", additionalInfo: null };

function requested(overrides: Partial<ChargingSession> = {}): ChargingSession {
  return {
    id: "6b0e3c52-5d0f-4a57-9a4e-1f1e2b7c9d10",
    driverId: "alice",
    origin: "APP",
    hubjectSessionId: null,
    cpoPartnerSessionId: null,
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-DCB-C12345678-X",
    partnerProductId: null,
    status: "REQUESTED",
    lastStatusCode: null,
    requestedAt: t(0),
    chargingStartedAt: null,
    chargingEndedAt: null,
    sessionStartedAt: null,
    sessionEndedAt: null,
    stopRequestedAt: null,
    updatedAt: t(0),
    consumedEnergyKwh: null,
    lastProgressAt: null,
    lastEventAt: null,
    figuresSource: null,
    errorType: null,
    errorInfo: null,
    chargeDetailRecord: null,
    offsets: {},
    anomalies: [],
    identificationId: null,
    stopIdentificationId: null,
    version: 1,
    ...overrides,
  };
}

const accepted: SessionEvent = { type: "START_ACCEPTED", at: t(1), hubjectSessionId: HUB, cpoPartnerSessionId: "CPO-1", statusCode: ok };
const start: SessionEvent = {
  type: "CHARGING_STARTED",
  at: t(2),
  hubjectSessionId: HUB,
  cpoPartnerSessionId: null,
  chargingStart: t(2),
  sessionStart: t(1),
  offsets: {},
  anomalies: [],
};
const progress = (minute: number, kwh: string): SessionEvent => ({
  type: "CHARGING_PROGRESS",
  at: t(minute),
  hubjectSessionId: HUB,
  cpoPartnerSessionId: null,
  eventOccurred: t(minute),
  chargingStart: t(2),
  sessionStart: t(1),
  consumedEnergyKwh: kwh,
  offsets: {},
  anomalies: [],
});
const end: SessionEvent = {
  type: "CHARGING_ENDED",
  at: t(40),
  hubjectSessionId: HUB,
  cpoPartnerSessionId: null,
  chargingStart: t(2),
  sessionStart: t(1),
  chargingEnd: t(40),
  sessionEnd: null,
  consumedEnergyKwh: "7.250",
  offsets: {},
  anomalies: [],
};
const cdr: ChargeDetailRecord = {
  hubjectSessionId: HUB,
  evseId: "DE*ABC*E1234*1",
  evcoId: "DE-DCB-C12345678-X",
  partnerProductId: null,
  sessionStart: t(1),
  sessionEnd: t(45),
  chargingStart: t(2),
  chargingEnd: t(40),
  consumedEnergyKwh: "7.251",
  meterValueStart: "100",
  meterValueEnd: "107.251",
  offsets: {},
  anomalies: [],
  receivedAt: t(46),
  raw: {},
};
const cdrEvent: SessionEvent = { type: "CDR_RECEIVED", at: t(46), cpoPartnerSessionId: null, cdr };

/** Applies events in order, keeping the session when an event changes nothing. */
function run(session: ChargingSession, ...events: SessionEvent[]): ChargingSession {
  return events.reduce((s, e) => applySessionEvent(s, e) ?? s, session);
}

describe("session state machine", () => {
  it("walks the happy path forward and bumps the version on each change", () => {
    const s = run(requested(), accepted, start, progress(10, "1.826"), end, cdrEvent);
    expect(s.status).toBe("COMPLETED");
    expect(s.hubjectSessionId).toBe(HUB);
    expect(s.consumedEnergyKwh).toBe("7.251");
    expect(s.figuresSource).toBe("CHARGE_DETAIL_RECORD");
    expect(s.version).toBe(6);
  });

  it("applies a Start that arrives before the remote-start answer, and the answer does not move it back", () => {
    const early = run(requested(), start);
    expect(early.status).toBe("CHARGING");
    const afterAnswer = run(early, accepted);
    expect(afterAnswer.status).toBe("CHARGING");
    expect(afterAnswer.cpoPartnerSessionId).toBe("CPO-1");
  });

  it("treats a duplicate notification as no change", () => {
    const s = run(requested(), accepted, start);
    expect(applySessionEvent(s, { ...start, at: t(3) })).toBeNull();
    expect(applySessionEvent(run(s, progress(10, "1.0")), progress(10, "1.0"))).toBeNull();
  });

  it("drops a Progress older than the newest one seen", () => {
    const s = run(requested(), accepted, start, progress(20, "3.000"));
    expect(applySessionEvent(s, progress(10, "1.500"))).toBeNull();
    expect(run(s, progress(30, "4.500")).consumedEnergyKwh).toBe("4.500");
  });

  it("ignores a Progress after End, and anything but nothing after COMPLETED", () => {
    const ended = run(requested(), accepted, start, end);
    expect(applySessionEvent(ended, progress(50, "9.999"))).toBeNull();
    const completed = run(ended, cdrEvent);
    for (const late of [end, progress(60, "1.0"), start, accepted, cdrEvent]) {
      expect(applySessionEvent(completed, late)).toBeNull();
    }
  });

  it("completes on a CDR that arrives with nothing before it", () => {
    const s = run(requested({ status: "ACCEPTED", hubjectSessionId: HUB }), cdrEvent);
    expect(s.status).toBe("COMPLETED");
    expect(s.chargingStartedAt).toEqual(t(2));
    expect(s.sessionEndedAt).toEqual(t(45));
  });

  it("rejects only while the answer is awaited", () => {
    const rejected = applySessionEvent(requested(), {
      type: "START_REJECTED",
      at: t(1),
      statusCode: { code: "603", description: null, additionalInfo: null },
    });
    expect(rejected?.status).toBe("REJECTED");
    expect(rejected?.lastStatusCode?.code).toBe("603");
    const charging = run(requested(), start);
    expect(applySessionEvent(charging, { type: "START_REJECTED", at: t(3), statusCode: ok })).toBeNull();
  });

  it("keeps an unknown outcome open: a later Start brings it to CHARGING, the SessionID from a 310 is kept", () => {
    const unknown = run(requested(), {
      type: "START_OUTCOME_UNKNOWN",
      at: t(1),
      hubjectSessionId: HUB,
      statusCode: { code: "310", description: "Partner did not respond", additionalInfo: null },
    });
    expect(unknown.status).toBe("OUTCOME_UNKNOWN");
    expect(unknown.hubjectSessionId).toBe(HUB);
    expect(run(unknown, start).status).toBe("CHARGING");
  });

  it("stops: STOP_REQUESTED, then End; a refused stop returns to CHARGING", () => {
    const charging = run(requested(), accepted, start);
    const stopping = run(charging, { type: "STOP_REQUESTED", at: t(30) });
    expect(stopping.status).toBe("STOP_REQUESTED");
    expect(run(stopping, { type: "STOP_ACCEPTED", at: t(30), statusCode: ok }, end).status).toBe("CHARGING_ENDED");
    const refused = run(stopping, {
      type: "STOP_REJECTED",
      at: t(31),
      statusCode: { code: "501", description: null, additionalInfo: null },
    });
    expect(refused.status).toBe("CHARGING");
    expect(refused.stopRequestedAt).toBeNull();
  });

  it("a refused stop after End does not move the session back", () => {
    const stopping = run(requested(), accepted, start, { type: "STOP_REQUESTED", at: t(30) }, end);
    const refused = run(stopping, {
      type: "STOP_REJECTED",
      at: t(41),
      statusCode: { code: "501", description: null, additionalInfo: null },
    });
    expect(refused.status).toBe("CHARGING_ENDED");
  });

  it("fails on an Error before End; a CDR still completes it; a second Error changes nothing", () => {
    const error: SessionEvent = {
      type: "CHARGING_ERROR",
      at: t(3),
      hubjectSessionId: HUB,
      cpoPartnerSessionId: null,
      errorType: "ConnectorError",
      errorInfo: "plug",
      offsets: {},
      anomalies: [],
    };
    const failed = run(requested(), accepted, error);
    expect(failed.status).toBe("FAILED");
    expect(failed.errorType).toBe("ConnectorError");
    expect(applySessionEvent(failed, { ...error, at: t(4) })).toBeNull();
    expect(applySessionEvent(failed, start)).toBeNull();
    expect(run(failed, cdrEvent).status).toBe("COMPLETED");
  });

  it("never moves the status backwards, whatever the order of events", () => {
    const events = [accepted, start, progress(10, "1"), progress(20, "2"), end, cdrEvent];
    const rank = ["REQUESTED", "OUTCOME_UNKNOWN", "ACCEPTED", "CHARGING", "STOP_REQUESTED", "CHARGING_ENDED", "COMPLETED"];
    // Every permutation of six events (720): the status index never decreases along the way.
    const permute = (list: SessionEvent[]): SessionEvent[][] =>
      list.length <= 1 ? [list] : list.flatMap((e, i) => permute([...list.slice(0, i), ...list.slice(i + 1)]).map((p) => [e, ...p]));
    for (const order of permute(events)) {
      let s = requested();
      for (const e of order) {
        const next = applySessionEvent(s, e) ?? s;
        expect(rank.indexOf(next.status)).toBeGreaterThanOrEqual(rank.indexOf(s.status));
        s = next;
      }
      expect(s.status).toBe("COMPLETED");
      expect(s.consumedEnergyKwh).toBe("7.251");
    }
  });
});

describe("settling an unknown outcome on evidence (docs/oicp.md#lost-answer)", () => {
  const unknown = () => run(requested(), { type: "START_OUTCOME_UNKNOWN", at: t(1), hubjectSessionId: null, statusCode: null });

  it("only what names the session settles it: a Start makes it CHARGING, there is no event for an occupied EVSE", () => {
    expect(run(unknown(), start).status).toBe("CHARGING");
  });

  it("after the give-up time without evidence the start did not happen, as far as anyone can tell", () => {
    const free = run(unknown(), { type: "START_NOT_CONFIRMED", at: t(12), evseOccupied: false });
    expect(free.status).toBe("REJECTED");
    expect(free.figuresSource).toBe("INFERRED");
    expect(free.errorInfo).toMatch(/stayed free/);
    const occupied = run(unknown(), { type: "START_NOT_CONFIRMED", at: t(12), evseOccupied: true });
    expect(occupied.status).toBe("REJECTED");
    expect(occupied.errorInfo).toMatch(/in use, but nothing showed it is this session/);
    // When the EVSE's status could not be had, the message claims nothing about it.
    const unread = run(unknown(), { type: "START_NOT_CONFIRMED", at: t(12), evseOccupied: null });
    expect(unread.errorInfo).toBe("Not confirmed: nothing showed that this session started.");
    // A CDR is still the truth if the charger did charge after all.
    expect(run(free, cdrEvent).status).toBe("COMPLETED");
  });

  it("only sessions whose start is unconfirmed are touched", () => {
    const charging = run(requested(), accepted, start);
    expect(applySessionEvent(charging, { type: "START_NOT_CONFIRMED", at: t(3), evseOccupied: false })).toBeNull();
  });
});

describe("settling a stop on evidence", () => {
  const stopping = () => run(requested(), accepted, start, { type: "STOP_REQUESTED", at: t(30) });

  it("ended: CHARGING_ENDED, inferred, with what was found", () => {
    const s = run(stopping(), { type: "STOP_SETTLED", at: t(40), ended: true, reason: "free" });
    expect(s).toMatchObject({ status: "CHARGING_ENDED", figuresSource: "INFERRED", errorInfo: "free", chargingEndedAt: t(40) });
    expect(run(s, cdrEvent).status).toBe("COMPLETED");
  });

  it("still charging: back to CHARGING, so that the driver can stop again", () => {
    const s = run(stopping(), { type: "STOP_SETTLED", at: t(40), ended: false, reason: "in use" });
    expect(s).toMatchObject({ status: "CHARGING", stopRequestedAt: null, errorInfo: "in use" });
  });

  it("does nothing to a session that is not stopping", () => {
    expect(applySessionEvent(run(requested(), accepted, start), { type: "STOP_SETTLED", at: t(40), ended: true, reason: "x" })).toBeNull();
  });
});

describe("figures", () => {
  it("the energy shown never goes down: a lower reading is kept as an anomaly", () => {
    const s = run(requested(), accepted, start, progress(10, "5.000"), progress(20, "4.000"));
    expect(s.consumedEnergyKwh).toBe("5.000");
    expect(s.lastProgressAt).toEqual(t(20));
    expect(s.anomalies).toEqual([
      { field: "ConsumedEnergyProgress", kind: "IMPLAUSIBLE", detail: expect.stringContaining("4.000 kWh is below") },
    ]);
  });

  it("a CDR completes with what it has: its missing figures stay as the notifications left them", () => {
    const partial: ChargeDetailRecord = { ...cdr, chargingStart: null, chargingEnd: null, consumedEnergyKwh: null };
    const s = run(requested(), accepted, start, progress(10, "1.826"), end, {
      type: "CDR_RECEIVED",
      at: t(46),
      cpoPartnerSessionId: null,
      cdr: partial,
    });
    expect(s).toMatchObject({ status: "COMPLETED", chargingStartedAt: t(2), chargingEndedAt: t(40), consumedEnergyKwh: "7.250" });
    expect(s.chargeDetailRecord?.consumedEnergyKwh).toBeNull();
  });

  it("keeps the offsets each time carried and the anomalies of each message", () => {
    const s = run(requested(), accepted, {
      ...start,
      offsets: { chargingStart: "+02:00", sessionStart: null },
      anomalies: [{ field: "SessionStart", kind: "NO_OFFSET", detail: "read as UTC" }],
    });
    expect(s.offsets).toEqual({ chargingStart: "+02:00", sessionStart: null });
    expect(s.anomalies).toHaveLength(1);
  });

  it("an operator's choice of CDR replaces the first one's figures, also on a completed session", () => {
    const completed = run(requested(), accepted, start, cdrEvent);
    const chosen = run(completed, { type: "CDR_CHOSEN", at: t(50), cdr: { ...cdr, consumedEnergyKwh: "9.000" } });
    expect(chosen.chargeDetailRecord?.consumedEnergyKwh).toBe("9.000");
    expect(chosen.consumedEnergyKwh).toBe("9.000");
  });
});

describe("updatedAt never goes back", () => {
  it("an event stamped before the session's last change (applied after a write conflict) keeps the later time", () => {
    const charging = { ...requested(), status: "CHARGING" as const, hubjectSessionId: HUB, chargingStartedAt: t(1), updatedAt: t(10) };
    const next = applySessionEvent(charging, { type: "STOP_REQUESTED", at: t(9) });
    expect(next?.status).toBe("STOP_REQUESTED");
    expect(next?.updatedAt).toEqual(t(10));
    expect(next?.version).toBe(charging.version + 1);
  });
});
