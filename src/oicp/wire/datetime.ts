// OICP date-times (docs/oicp.md#datetime): `YYYY-MM-DDThh:mm:ss[.fff]` with an offset, which CPOs
// must set to the charge point's local one and Hubject forwards unchanged. Read here without the
// server's time zone ever playing a part: a time without an offset is read as UTC (and the caller
// records that), an impossible date (2024-02-30, 25:00) is refused, never rolled over.

/** An instant and the UTC offset it was written with ("+02:00", "Z"; null when none was sent). */
export interface OicpTime {
  at: Date;
  offset: string | null;
}

export type DateTimeRead = { ok: true; value: OicpTime } | { ok: false; problem: string };

const FORMAT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
/** Offsets in use on Earth run from -12:00 to +14:00. */
const MAX_OFFSET_MINUTES = 14 * 60;

export function readOicpDateTime(value: string): DateTimeRead {
  const match = FORMAT.exec(value.trim());
  if (!match) return { ok: false, problem: "not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss±hh:mm)" };
  const [, y, mo, d, h, mi, s, fraction, offsetText] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12) return { ok: false, problem: `month ${mo} does not exist` };
  if (day < 1 || day > daysInMonth(year, month)) return { ok: false, problem: `${y}-${mo}-${d} does not exist` };
  if (hour > 23 || minute > 59 || second > 59)
    return { ok: false, problem: `${h}:${mi}${s === undefined ? "" : `:${s}`} is not a time of day` };
  const ms = fraction === undefined ? 0 : Number(fraction.padEnd(3, "0").slice(0, 3));

  let offsetMinutes = 0;
  let offset: string | null = null;
  if (offsetText !== undefined) {
    if (offsetText === "Z" || offsetText === "z") offset = "Z";
    else {
      const sign = offsetText.startsWith("-") ? -1 : 1;
      const digits = offsetText.slice(1).replace(":", "");
      const oh = Number(digits.slice(0, 2));
      const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
      if (om > 59 || oh * 60 + om > MAX_OFFSET_MINUTES) return { ok: false, problem: `offset ${offsetText} does not exist` };
      offsetMinutes = sign * (oh * 60 + om);
      offset = `${sign < 0 ? "-" : "+"}${pad(oh)}:${pad(om)}`;
    }
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day); // setUTCFullYear, unlike Date.UTC, keeps years 0..99 as they are
  utc.setUTCHours(hour, minute, second, ms);
  return { ok: true, value: { at: new Date(utc.getTime() - offsetMinutes * 60_000), offset } };
}

/** The instant as the charger showed it: ISO 8601 with its offset, e.g. "2024-06-12T20:03:11+02:00". */
export function formatAtOffset(at: Date, offset: string | null): string {
  if (offset === null || offset === "Z") return at.toISOString().replace(/\.000Z$/, "Z");
  const sign = offset.startsWith("-") ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const shifted = new Date(at.getTime() + minutes * 60_000).toISOString();
  return `${shifted.replace(/\.000Z$/, "").replace(/Z$/, "")}${offset}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const pad = (n: number) => String(n).padStart(2, "0");
