// The inbound OICP listener: what Hubject calls (FACTS.md §3). Every answer is HTTP 200 with an
// OICP Acknowledgement; a message is stored before it is acknowledged; a message we cannot parse
// gets Result:false with 022 and changes nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../logger.js";
import type { SessionService } from "../sessions/session.service.js";
import { BodyTooLargeError, readBody } from "../server/http-body.js";
import { parseChargeDetailRecord, parseChargingNotification, type ParseResult } from "./inbound.parse.js";
import { OICP_API_PREFIX, type OicpAcknowledgement } from "./wire.js";

export interface OicpListenerOptions {
  sessions: Pick<SessionService, "receive">;
  logger: Logger;
  /** Path of the Service URL registered with Hubject, e.g. "/oicp"; Hubject appends /api/oicp/... */
  pathPrefix: string;
  maxBodyBytes: number;
}

type Route = { operation: string; parse: (body: unknown, receivedAt: Date) => ParseResult };

const NOTIFICATIONS: Route = { operation: "ChargingNotification", parse: parseChargingNotification };
const CDR: Route = { operation: "ChargeDetailRecord", parse: parseChargeDetailRecord };

export function createOicpListener(options: OicpListenerOptions): Server {
  const base = `${options.pathPrefix}${OICP_API_PREFIX}`;
  const notificationPath = `${base}/notificationmgmt/v11/charging-notifications`;
  // The CPO OAS says Hubject appends cdrmgmt/v21, the SPEC snippet v22: serve both (FACTS.md E15).
  const cdrPath = new RegExp(`^${escapeRegExp(base)}/cdrmgmt/v2[12]/operators/([^/]+)/charge-detail-record$`);

  function route(path: string): { route: Route; operatorId: string | null } | null {
    if (path === notificationPath) return { route: NOTIFICATIONS, operatorId: null };
    const cdr = cdrPath.exec(path);
    return cdr ? { route: CDR, operatorId: safeDecode(cdr[1]!) } : null;
  }

  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    const matched = route(path);
    if (!matched) return sendJson(res, 404, ack(false, "300", "Unknown endpoint"));
    if (req.method !== "POST") return sendJson(res, 405, ack(false, "022", "Use POST"));
    void handle(req, res, matched.route, matched.operatorId);
  });

  async function handle(req: IncomingMessage, res: ServerResponse, route: Route, operatorId: string | null) {
    const log = options.logger.child({ operation: route.operation, operatorId });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, options.maxBodyBytes));
    } catch (error) {
      const info = error instanceof BodyTooLargeError ? `Body larger than ${error.limit} bytes` : "Body is not valid JSON";
      log.warn({ problem: info }, "rejected inbound OICP message");
      return sendJson(res, 200, ack(false, "022", "Data error", info));
    }
    const parsed = route.parse(body, new Date());
    if (!parsed.ok) {
      log.warn({ problem: parsed.problem }, "rejected inbound OICP message");
      return sendJson(res, 200, ack(false, "022", "Data error", parsed.problem));
    }
    const ids = parsed.value.ids;
    const echo = {
      SessionID: ids.hubjectSessionId,
      CPOPartnerSessionID: ids.cpoPartnerSessionId,
      EMPPartnerSessionID: ids.empPartnerSessionId,
    };
    try {
      const outcome = await options.sessions.receive(parsed.value);
      log.info(
        { hubjectSessionId: ids.hubjectSessionId, type: parsed.value.message.type, duplicate: outcome.duplicate, sessionId: outcome.session?.id ?? null },
        "inbound OICP message stored",
      );
      // Duplicates are acknowledged too (FACTS.md §6.6).
      return sendJson(res, 200, { ...ack(true, "000", "Success"), ...echo });
    } catch (error) {
      log.error({ err: error, hubjectSessionId: ids.hubjectSessionId }, "could not store inbound OICP message");
      return sendJson(res, 200, { ...ack(false, "021", "System error"), ...echo });
    }
  }
}

function ack(result: boolean, code: string, description: string, additionalInfo: string | null = null): OicpAcknowledgement {
  return { Result: result, StatusCode: { Code: code, Description: description, AdditionalInfo: additionalInfo } };
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json;charset=UTF-8", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
