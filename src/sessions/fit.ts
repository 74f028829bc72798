// A message that names one of our sessions is applied only when it fits that session: the same
// EVSE, the same contract (when both name one), and posted by the EVSE's operator (or the hub
// that operator's CDRs come through). A CDR under another operator with a foreign EVSE and
// contract but a real SessionID of ours is stored and flagged, never applied.
import { evcoIdKey, evseIdKey, operatorIdKey, operatorIdOf } from "../oicp/wire/identifiers.js";
import type { ParsedInbound } from "./ports.js";
import type { ChargingSession } from "./session.js";

/** Why the message does not fit the session, or null when it does. */
export function misfit(session: ChargingSession, parsed: ParsedInbound, pathOperatorId: string | null): string | null {
  const { ids } = parsed;
  if (evseIdKey(ids.evseId) !== evseIdKey(session.evseId)) return `names EVSE ${ids.evseId}, the session is at ${session.evseId}`;
  if (ids.evcoId !== null && evcoIdKey(ids.evcoId) !== evcoIdKey(session.evcoId)) return "names another contract than the session's";
  const evseOperator = operatorIdOf(session.evseId);
  if (evseOperator === undefined) return null;
  const claimed = [parsed.operatorId, pathOperatorId].filter((id): id is string => id !== null && id !== undefined);
  for (const operatorId of claimed) {
    const fromTheOperator = operatorIdKey(operatorId) === operatorIdKey(evseOperator);
    const fromItsHub = parsed.hubOperatorId != null && operatorIdKey(operatorId) === operatorIdKey(parsed.hubOperatorId);
    if (!fromTheOperator && !fromItsHub) return `posted by operator ${operatorId}, the session's EVSE belongs to ${evseOperator}`;
  }
  return null;
}
