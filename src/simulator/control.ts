// The simulator's own routes for developers and tests, beside the OICP ones: what the catalogue
// looks like now, and a driver holding a card to a charger (tap-card.ts).
//   GET  /simulator/catalogue  the EVSEs with their live status
//   POST /simulator/tap        {"evseId": "DE*SIM*E0001*1", "identification": {"RFIDMifareFamilyIdentification": {"UID": "04A1B2C3D4E5F6"}}}
import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_BODY_BYTES, readBody, sendJson } from "./http.js";
import type { ChargerTaps, PresentedIdentification } from "./tap-card.js";

const TAP_USAGE =
  'expected JSON: {"evseId": "DE*SIM*E0001*1", "identification": {"RFIDMifareFamilyIdentification": {"UID": "04A1B2C3D4E5F6"}}}';

export function controlRoutes(deps: { taps: ChargerTaps; catalogue: () => unknown }) {
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    if (req.method === "GET" && pathname === "/simulator/catalogue") return sendJson(res, 200, deps.catalogue());
    if (req.method === "POST" && pathname === "/simulator/tap") return tap(res, await readBody(req, MAX_BODY_BYTES));
    return sendJson(res, 404, { error: "GET /simulator/catalogue or POST /simulator/tap" });
  };

  async function tap(res: ServerResponse, text: string): Promise<void> {
    let request: { evseId?: unknown; identification?: unknown };
    try {
      request = JSON.parse(text) as typeof request;
    } catch {
      return sendJson(res, 400, { error: TAP_USAGE });
    }
    const { evseId, identification } = request;
    if (typeof evseId !== "string" || typeof identification !== "object" || identification === null)
      return sendJson(res, 400, { error: TAP_USAGE });
    try {
      return sendJson(res, 200, await deps.taps.tap(evseId, identification as PresentedIdentification));
    } catch (error) {
      return sendJson(res, 404, { error: error instanceof Error ? error.message : String(error) });
    }
  }
}
