// OICP identifier formats, copied from the leading SPEC (docs/oicp.md#identifiers).
// The `|` inside character classes is Hubject's own quirk and is kept on purpose.

/** EvseID, OAS variant: the SPEC is upper-case only, the OAS allows lower case (docs/oicp.md#e11). */
export const EVSE_ID = /^(([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9*]{1,32}))$/;
export const EVCO_ID =
  /^(([A-Za-z]{2}-?[A-Za-z0-9]{3}-?C[A-Za-z0-9]{8}-?[\d|A-Za-z])|([A-Za-z]{2}[*|-]?[A-Za-z0-9]{3}[*|-]?[A-Za-z0-9]{6}[*|-]?[\d|X]))$/;
export const PROVIDER_ID = /^([A-Za-z]{2}-?[A-Za-z0-9]{3}|[A-Za-z]{2}[*|-]?[A-Za-z0-9]{3})$/;
export const OPERATOR_ID = /^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$/;
/** GUID-shaped but alphanumeric: strict UUID validators reject real Hubject ids (docs/oicp.md#identifiers). */
export const SESSION_ID = /^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$/;

/** Partner session ids and product ids are free strings with maximum lengths (docs/oicp.md#e3). */
export const PARTNER_SESSION_ID_MAX = 250;
export const PRODUCT_ID_MAX = 50;

export const isEvseId = (value: string): boolean => EVSE_ID.test(value);
export const isEvcoId = (value: string): boolean => EVCO_ID.test(value);
export const isProviderId = (value: string): boolean => PROVIDER_ID.test(value);
export const isSessionId = (value: string): boolean => SESSION_ID.test(value);

/**
 * Hubject upper-cases EvcoIDs (docs/oicp.md#identifiers), so contracts are compared case-insensitively.
 * EvseIDs are compared case-insensitively too (E11) but always sent exactly as received.
 */
export const sameEvcoId = (a: string, b: string): boolean => a.toUpperCase() === b.toUpperCase();
export const sameEvseId = (a: string, b: string): boolean => a.toUpperCase() === b.toUpperCase();

/** The OperatorID is the EvseID's prefix up to the `E` (ISO) or the third `*` group (DIN). */
export function operatorIdOf(evseId: string): string | undefined {
  const iso = /^([A-Za-z]{2})\*?([A-Za-z0-9]{3})\*?E/.exec(evseId);
  if (iso) return `${iso[1]}*${iso[2]}`;
  const din = /^(\+?[0-9]{1,3})\*([0-9]{3})\*/.exec(evseId);
  return din ? `${din[1]}*${din[2]}` : undefined;
}
