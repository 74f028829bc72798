// Readers for JSON of unknown shape: what a partner sent, a stored row, a request body.

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The value as an object, or an empty one when it is not an object. */
export const asRecord = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});

/** An array as it is, a single value as a one-element array, null/undefined as none. */
export const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value == null ? [] : [value]);

/** A non-empty string, else null. */
export const readString = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

/** JSON.parse that answers undefined instead of throwing (a BOM and surrounding blanks are tolerated). */
export function parseJsonOrUndefined(text: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, "").trim();
  if (trimmed === "") return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}
