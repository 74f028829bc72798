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

// ---- Comparison keys: one function per identifier, used by matching, de-duplication and the
// store's unique indexes alike (docs/oicp.md#identifiers, #e11). Ids are always sent exactly as
// received; only their keys are normalised.

/** SessionID: GUID-shaped, alphanumeric; case carries no meaning (a CPO may echo it upper-cased). */
export const sessionIdKey = (sessionId: string): string => sessionId.trim().toLowerCase();

/**
 * EvseID: case-insensitive (#e11), and the `*` separators are optional in the ISO form
 * (`DE*AB7*E840*6487` is `DEAB7E8406487`). The DIN form keeps its leading `+`, so the two forms never meet.
 */
export const evseIdKey = (evseId: string): string => evseId.trim().toUpperCase().replaceAll("*", "");

/** EvcoID: Hubject upper-cases them, and the `-` / `*` separators are optional (`DE-8EO-CAet5e4XY-3` is `DE8EOCAET5E4XY3`). */
export const evcoIdKey = (evcoId: string): string => evcoId.trim().toUpperCase().replace(/[-*]/g, "");

/** CPOPartnerSessionID / EMPPartnerSessionID: free strings (≤ 250) compared as sent, blanks around them aside. */
export const partnerSessionIdKey = (id: string): string => id.trim();

/** OperatorID: like the EvseID prefix it is taken from, case-insensitive and with the `*` optional. */
export const operatorIdKey = (operatorId: string): string => operatorId.trim().toUpperCase().replaceAll("*", "");

export const sameSessionId = (a: string, b: string): boolean => sessionIdKey(a) === sessionIdKey(b);
export const sameEvseId = (a: string, b: string): boolean => evseIdKey(a) === evseIdKey(b);
export const sameEvcoId = (a: string, b: string): boolean => evcoIdKey(a) === evcoIdKey(b);
export const sameOperatorId = (a: string, b: string): boolean => operatorIdKey(a) === operatorIdKey(b);

/** The OperatorID is the EvseID's prefix up to the `E` (ISO) or the third `*` group (DIN). */
export function operatorIdOf(evseId: string): string | undefined {
  const iso = /^([A-Za-z]{2})\*?([A-Za-z0-9]{3})\*?E/.exec(evseId);
  if (iso) return `${iso[1]}*${iso[2]}`;
  const din = /^(\+?[0-9]{1,3})\*([0-9]{3})\*/.exec(evseId);
  return din ? `${din[1]}*${din[2]}` : undefined;
}
