// The lenient reader (issue 11): what Hubject's validators let through is read and said, never
// refused; only what Hubject itself requires refuses a CDR. The exact inputs of the issue.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { oicpInboundReader, parseChargeDetailRecord } from "../../../src/oicp/inbound/parse.js";
import type { ChargeDetailRecord } from "../../../src/sessions/session.js";
import { example } from "../../support/examples.js";

const now = new Date("2024-06-12T18:30:00Z");
const CDR = example("14-charge-detail-record.request");

function cdrOf(text: string): { cdr: ChargeDetailRecord; anomalies: { field: string; kind: string }[] } {
  const read = oicpInboundReader.read("CDR", text, now);
  if (!read.ok) throw new Error(read.problem);
  if (read.value.event.type !== "CDR_RECEIVED") throw new Error("not a CDR");
  return { cdr: read.value.event.cdr, anomalies: read.value.message.anomalies };
}

const withFields = (fields: Record<string, unknown>) => JSON.stringify({ ...CDR, ...fields });

describe("a CDR Hubject forwards is read, whatever the spec says", () => {
  it("without ChargingStart, ChargingEnd and ConsumedEnergy: read, each missing figure said", () => {
    const { cdr, anomalies } = cdrOf(withFields({ ChargingStart: undefined, ChargingEnd: undefined, ConsumedEnergy: undefined }));
    expect(cdr).toMatchObject({
      chargingStart: null,
      chargingEnd: null,
      consumedEnergyKwh: null,
      sessionStart: new Date("2024-06-12T16:02:41Z"),
    });
    expect(anomalies.map((a) => `${a.field} ${a.kind}`)).toEqual([
      "ChargingStart MISSING",
      "ChargingEnd MISSING",
      "ConsumedEnergy MISSING",
    ]);
  });

  it('"21,343" (a decimal comma, in a string) is 21.343, repaired and said', () => {
    const { cdr, anomalies } = cdrOf(withFields({ ConsumedEnergy: "21,343" }));
    expect(cdr.consumedEnergyKwh).toBe("21.343");
    expect(anomalies).toEqual([
      { field: "ConsumedEnergy", kind: "REPAIRED", detail: "read from a number sent as a string and a decimal comma" },
    ]);
  });

  it('"1.234567e3" (exponent notation) is exactly 1234.567', () => {
    const { cdr, anomalies } = cdrOf(withFields({ ConsumedEnergy: "1.234567e3" }));
    expect(cdr.consumedEnergyKwh).toBe("1234.567");
    expect(anomalies[0]).toMatchObject({ field: "ConsumedEnergy", kind: "REPAIRED" });
    expect(cdrOf(withFields({ MeterValueEnd: 1.234567e3 })).cdr.meterValueEnd).toBe("1234.567");
  });

  it("a JSON number keeps every digit it was sent with, beyond what a float holds", () => {
    const text = JSON.stringify({ ...CDR, ConsumedEnergy: 0 }).replace('"ConsumedEnergy":0', '"ConsumedEnergy":12345678901234567.891');
    expect(cdrOf(text).cdr.consumedEnergyKwh).toBe("12345678901234567.891");
    expect(cdrOf(withFields({ ConsumedEnergy: 21.34 })).cdr.consumedEnergyKwh).toBe("21.34");
  });

  it("a time without an offset is read as UTC and said, whatever the server's time zone", () => {
    const { cdr, anomalies } = cdrOf(withFields({ ChargingStart: "2024-06-12T18:03:11" }));
    expect(cdr.chargingStart?.toISOString()).toBe("2024-06-12T18:03:11.000Z");
    expect(cdr.offsets.chargingStart).toBeNull();
    expect(anomalies).toContainEqual({ field: "ChargingStart", kind: "NO_OFFSET", detail: expect.stringContaining("read as UTC") });
    expect(cdr.offsets.sessionStart).toBe("+02:00");
  });

  it("an impossible date is refused, never rolled over: 2024-02-30", () => {
    const required = oicpInboundReader.read("CDR", withFields({ SessionStart: "2024-02-30T10:00:00+01:00" }), now);
    expect(required).toMatchObject({
      ok: false,
      problem: "Field 'SessionStart': 2024-02-30 does not exist",
      names: { hubjectSessionId: expect.any(String) },
    });
    const { cdr, anomalies } = cdrOf(withFields({ ChargingEnd: "2024-02-30T10:00:00+01:00" }));
    expect(cdr.chargingEnd).toBeNull();
    expect(anomalies).toContainEqual({ field: "ChargingEnd", kind: "IMPLAUSIBLE", detail: "2024-02-30 does not exist; left out" });
  });

  it("lacking what Hubject itself requires, it is refused, naming the field", () => {
    for (const field of ["SessionID", "EvseID", "Identification", "SessionStart", "SessionEnd"]) {
      const read = oicpInboundReader.read("CDR", withFields({ [field]: undefined }), now);
      expect(read.ok, field).toBe(false);
      if (!read.ok) expect(read.problem).toContain(`Field '${field}'`);
    }
    expect(oicpInboundReader.read("CDR", "{not json", now)).toEqual({ ok: false, problem: "Body is not valid JSON" });
  });

  it("an upper-cased SessionID keeps its case as sent and gets the same dedupe key", () => {
    const lower = parseChargeDetailRecord(CDR, now);
    const upper = parseChargeDetailRecord({ ...CDR, SessionID: String(CDR.SessionID).toUpperCase() }, now);
    if (!lower.ok || !upper.ok) throw new Error("not read");
    expect(upper.value.ids.hubjectSessionId).toBe(String(CDR.SessionID).toUpperCase());
    expect(upper.value.message.dedupeKey).toBe(lower.value.message.dedupeKey);
  });

  it("two CDRs of one session that differ in a billing figure have different content hashes; formatting alone does not", () => {
    const hash = (text: string) => {
      const read = oicpInboundReader.read("CDR", text, now);
      if (!read.ok) throw new Error(read.problem);
      return read.value.message.contentHash;
    };
    expect(hash(JSON.stringify(CDR, null, 2))).toBe(hash(JSON.stringify(CDR)));
    expect(hash(withFields({ ConsumedEnergy: 555 }))).not.toBe(hash(JSON.stringify(CDR)));
  });
});

describe("the readers, for any input (fast-check)", () => {
  it("a date-time with an offset reads as the instant it names; without one, as that instant in UTC", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2199-12-31T23:59:59Z"), noInvalidDate: true }),
        fc.integer({ min: -12 * 60, max: 14 * 60 }),
        fc.boolean(),
        (at, offsetMinutes, withOffset) => {
          const shifted = new Date(at.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const sign = offsetMinutes < 0 ? "-" : "+";
          const abs = Math.abs(offsetMinutes);
          const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
          const read = oicpInboundReader.read("CDR", withFields({ ChargingStart: withOffset ? `${shifted}${offset}` : shifted }), now);
          if (!read.ok || read.value.event.type !== "CDR_RECEIVED") return false;
          const expected = withOffset ? at.getTime() : at.getTime() + offsetMinutes * 60_000;
          return read.value.event.cdr.chargingStart?.getTime() === expected;
        },
      ),
    );
  });

  it("a day that does not exist is never rolled over", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2199 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 29, max: 35 }),
        (year, month, day) => {
          const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
          const text = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}T10:00:00Z`;
          const read = oicpInboundReader.read("CDR", withFields({ ChargingEnd: text }), now);
          if (!read.ok || read.value.event.type !== "CDR_RECEIVED") return false;
          const got = read.value.event.cdr.chargingEnd;
          return day <= days ? got?.toISOString() === `${text.slice(0, 19)}.000Z` : got === null;
        },
      ),
    );
  });

  it("a decimal in any of its spellings reads as the same exact value", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 999 }), (whole, thousandths) => {
        const plain = `${whole}.${String(thousandths).padStart(3, "0")}`;
        const spellings = [plain, plain.replace(".", ","), `${whole}${String(thousandths).padStart(3, "0")}e-3`];
        const values = spellings.map((v) => cdrOf(withFields({ ConsumedEnergy: v })).cdr.consumedEnergyKwh);
        const exact = (v: string | null) => (v === null ? null : Number(v).toFixed(3));
        return values.every((v) => exact(v) === plain);
      }),
    );
  });

  it("never throws, and never refuses a CDR that has what Hubject requires, whatever else it holds", () => {
    const junk = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.object());
    fc.assert(
      fc.property(
        fc.record({
          ChargingStart: junk,
          ChargingEnd: junk,
          ConsumedEnergy: junk,
          MeterValueStart: junk,
          MeterValueEnd: junk,
          MeterValueInBetween: junk,
          PartnerProductID: junk,
        }),
        (fields) => oicpInboundReader.read("CDR", withFields(fields), now).ok,
      ),
    );
  });
});
