// Small formatters for what the simulated CPO writes.

/**
 * CPOs must send the charge point's local offset and Hubject forwards it unchanged (docs/oicp.md#datetime).
 * The simulated chargers stand in Germany in summer: a fixed +02:00 keeps the output stable.
 * Milliseconds are kept so that Progress messages a few ms apart still have distinct EventOccurred.
 */
const CHARGE_POINT_OFFSET_MINUTES = 120;

export function cpoTimestamp(at: Date): string {
  const shifted = new Date(at.getTime() + CHARGE_POINT_OFFSET_MINUTES * 60_000);
  const sign = CHARGE_POINT_OFFSET_MINUTES < 0 ? "-" : "+";
  const abs = Math.abs(CHARGE_POINT_OFFSET_MINUTES);
  const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return shifted.toISOString().replace("Z", offset);
}

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Energy is Decimal(,3) kWh (docs/oicp.md#decimals). The simulator counts whole Wh and divides once,
 * so MeterValueEnd − MeterValueStart equals ConsumedEnergy exactly.
 */
export const kWh = (wh: number): number => Math.round(wh) / 1000;
