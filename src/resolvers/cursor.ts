import { badInput } from "../errors.js";

/** Opaque keyset cursor: the session's position in "newest first" order. */
export function encodeCursor(session: { requestedAt: Date; id: string }): string {
  return Buffer.from(`${session.requestedAt.toISOString()}|${session.id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): { requestedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const requestedAt = new Date(at ?? "");
  if (!id || Number.isNaN(requestedAt.getTime()))
    throw badInput("This cursor is not valid: use an endCursor from a previous page.", "after");
  return { requestedAt, id };
}
