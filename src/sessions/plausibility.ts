// Figures that cannot be true (negative energy, an end before its start, a meter running
// backwards, a time far in the future) are flagged and withheld: never shown to the driver as
// fact, never the billing record's figure, and never able to block later messages (a Progress
// dated 9999 would otherwise freeze every later Progress of its session).
import { compareDecimals, isNegativeDecimal, subtractDecimals } from "../lib/decimal.js";
import type { ChargeDetailRecord, FigureAnomaly, SessionEvent } from "./session.js";

/** Further ahead than this, a charger's time is taken as wrong (clocks drift, offsets are mis-set; a day is generous). */
export const FUTURE_TOLERANCE_MS = 24 * 3_600_000;
/** ConsumedEnergy and the meter's difference may differ by rounding to decimal(,3). */
const METER_TOLERANCE_KWH = "0.001";

export interface Judged {
  /** The event with implausible figures withheld (and said); FIGURES_WITHHELD when nothing in it can be used. */
  event: SessionEvent | null;
  /** The anomalies found here (the event carries them too). */
  anomalies: FigureAnomaly[];
}

export function judge(event: SessionEvent, now: Date, meterValuesInBetween: readonly string[] = []): Judged {
  const found: FigureAnomaly[] = [];
  const flag = (field: string, detail: string) => found.push({ field, kind: "IMPLAUSIBLE", detail });
  const future = (at: Date | null, field: string): boolean => {
    if (at === null || at.getTime() <= now.getTime() + FUTURE_TOLERANCE_MS) return false;
    flag(field, `${at.toISOString()} is in the future; left out`);
    return true;
  };
  const energy = (kwh: string | null, field: string): string | null => {
    if (kwh === null || !isNegativeDecimal(kwh)) return kwh;
    flag(field, `${kwh} kWh is negative; left out`);
    return null;
  };
  const done = (judged: SessionEvent | null): Judged => {
    if (judged && "anomalies" in judged && found.length > 0) judged = { ...judged, anomalies: [...judged.anomalies, ...found] };
    if (judged?.type === "CDR_RECEIVED" && found.length > 0) {
      judged = { ...judged, cdr: { ...judged.cdr, anomalies: [...judged.cdr.anomalies, ...found] } };
    }
    return { event: judged, anomalies: found };
  };

  switch (event.type) {
    case "CHARGING_STARTED": {
      const chargingStart = future(event.chargingStart, "ChargingStart") ? null : event.chargingStart;
      const sessionStart = future(event.sessionStart, "SessionStart") ? null : event.sessionStart;
      return done({ ...event, chargingStart, sessionStart });
    }
    case "CHARGING_PROGRESS": {
      // A reading from the future would order every later one before it: the whole Progress is left out.
      if (future(event.eventOccurred, "EventOccurred")) {
        return { event: { type: "FIGURES_WITHHELD", at: now, anomalies: [...event.anomalies, ...found] }, anomalies: found };
      }
      return done({ ...event, consumedEnergyKwh: energy(event.consumedEnergyKwh, "ConsumedEnergyProgress") });
    }
    case "CHARGING_ENDED": {
      let chargingEnd = future(event.chargingEnd, "ChargingEnd") ? null : event.chargingEnd;
      if (chargingEnd && event.chargingStart && chargingEnd.getTime() < event.chargingStart.getTime()) {
        flag("ChargingEnd", "before ChargingStart; left out");
        chargingEnd = null;
      }
      const sessionEnd = future(event.sessionEnd, "SessionEnd") ? null : event.sessionEnd;
      return done({ ...event, chargingEnd, sessionEnd, consumedEnergyKwh: energy(event.consumedEnergyKwh, "ConsumedEnergy") });
    }
    case "CDR_RECEIVED":
      return done({ ...event, cdr: judgeCdr(event.cdr, meterValuesInBetween, flag, future) });
    default:
      return done(event);
  }

  function judgeCdr(
    cdr: ChargeDetailRecord,
    inBetween: readonly string[],
    flag: (field: string, detail: string) => void,
    future: (at: Date | null, field: string) => boolean,
  ): ChargeDetailRecord {
    let { sessionStart, sessionEnd, chargingStart, chargingEnd, meterValueStart, meterValueEnd } = cdr;
    if (future(sessionStart, "SessionStart")) sessionStart = null;
    if (future(sessionEnd, "SessionEnd")) sessionEnd = null;
    if (future(chargingStart, "ChargingStart")) chargingStart = null;
    if (future(chargingEnd, "ChargingEnd")) chargingEnd = null;
    if (sessionStart && sessionEnd && sessionEnd.getTime() < sessionStart.getTime()) {
      flag("SessionEnd", "before SessionStart; both left out");
      sessionStart = null;
      sessionEnd = null;
    }
    if (chargingStart && chargingEnd && chargingEnd.getTime() < chargingStart.getTime()) {
      flag("ChargingEnd", "before ChargingStart; both left out");
      chargingStart = null;
      chargingEnd = null;
    }
    const consumedEnergyKwh = energy(cdr.consumedEnergyKwh, "ConsumedEnergy");
    if (meterValueStart !== null && meterValueEnd !== null && compareDecimals(meterValueEnd, meterValueStart) < 0) {
      flag("MeterValueEnd", `the meter ran backwards (${meterValueStart} to ${meterValueEnd} kWh); meter values left out`);
      meterValueStart = null;
      meterValueEnd = null;
    }
    const readings = [meterValueStart, ...inBetween, meterValueEnd].filter((v): v is string => v !== null);
    if (readings.some((value, i) => i > 0 && compareDecimals(value, readings[i - 1]!) < 0)) {
      flag("MeterValueInBetween", "the meter readings do not rise");
    }
    if (consumedEnergyKwh !== null && meterValueStart !== null && meterValueEnd !== null) {
      const difference = subtractDecimals(subtractDecimals(meterValueEnd, meterValueStart), consumedEnergyKwh);
      const off = difference.startsWith("-") ? difference.slice(1) : difference;
      if (compareDecimals(off, METER_TOLERANCE_KWH) > 0) {
        flag("ConsumedEnergy", `${consumedEnergyKwh} kWh differs from the meter's ${subtractDecimals(meterValueEnd, meterValueStart)} kWh`);
      }
    }
    return { ...cdr, sessionStart, sessionEnd, chargingStart, chargingEnd, consumedEnergyKwh, meterValueStart, meterValueEnd };
  }
}
