// The inbound OICP listener: what Hubject calls (docs/oicp.md#inbound). Every answer is HTTP 200 with an
// OICP Acknowledgement; a message is stored before it is acknowledged; a message we cannot parse
// gets Result:false with 022 and changes nothing.
//
// Only Hubject may call (docs/oicp.md#transport, #q4): with `tls`, an https server that demands a client
// certificate signed by OICP_TLS_CLIENT_CA (TLS 1.2+), optionally with a CN / DNS name from
// OICP_TLS_ALLOWED_SUBJECTS; with `allowedIps`, only those source addresses. A caller that fails
// these checks is not Hubject, so it gets HTTP 403 with a small JSON body, not an OICP ack.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { BodyTooLargeError, readBody, sendJson } from "../../lib/http.js";
import type { Logger } from "../../logger.js";
import type { OpsHandler } from "../../observability/ops-endpoints.js";
import { requestIdFrom, withRequestId } from "../../observability/request-context.js";
import { contextFromHeaders, defaultTracer, recordError } from "../../observability/tracing-context.js";
import type { SessionService } from "../../sessions/session.service.js";
import { OICP_API_PREFIX, type OicpAcknowledgement } from "../wire/types.js";
import { createIpAllowList, displayAddress } from "./ip-allow-list.js";
import { type ParseResult, parseChargeDetailRecord, parseChargingNotification } from "./parse.js";
import {
  loadMaterialSync,
  OICP_TLS_MIN_VERSION,
  type OicpTlsOptions,
  peerIdentity,
  startTlsReloader,
  subjectAllowed,
  type TlsReloader,
} from "./tls.js";

export type { OicpTlsOptions } from "./tls.js";

export interface OicpListenerOptions {
  sessions: Pick<SessionService, "receive">;
  logger: Logger;
  /** Path of the Service URL registered with Hubject, e.g. "/oicp"; Hubject appends /api/oicp/... */
  pathPrefix: string;
  maxBodyBytes: number;
  /** Mutual TLS (Config.oicp.tls); null = plain HTTP, which the config allows for local development only. */
  tls: OicpTlsOptions | null;
  /** Source addresses or CIDR ranges allowed to call (Config.oicp.allowedIps); empty = any. */
  allowedIps: string[];
  /** /healthz, /readyz, /metrics, behind the same TLS and IP rules as everything here. */
  ops?: OpsHandler;
  /** Counts rejected messages (stored and duplicate ones are counted by the session service). */
  onRejected?: (operation: string) => void;
  /**
   * One server span "oicp <ChargingNotification|ChargeDetailRecord>" per inbound message, a child
   * of the request's `traceparent` when it has one. Default: the global API's (no-op unless tracing was started).
   */
  tracer?: Tracer;
}

/**
 * The server to listen on (an https.Server with `tls`, else an http.Server), plus:
 * `scheme` for the URL to register, `dispose()` to stop the certificate reload timer (also done on
 * the server's "close" event), `reloadTls()` to check the certificate files at once (e.g. on SIGHUP).
 */
export type OicpListener = Server & {
  readonly scheme: "http" | "https";
  dispose(): void;
  reloadTls(): Promise<void>;
};

type Route = { operation: string; parse: (body: unknown, receivedAt: Date) => ParseResult };

const NOTIFICATIONS: Route = { operation: "ChargingNotification", parse: parseChargingNotification };
const CDR: Route = { operation: "ChargeDetailRecord", parse: parseChargeDetailRecord };

export function createOicpListener(options: OicpListenerOptions): OicpListener {
  const base = `${options.pathPrefix}${OICP_API_PREFIX}`;
  const notificationPath = `${base}/notificationmgmt/v11/charging-notifications`;
  // The CPO OAS says Hubject appends cdrmgmt/v21, the SPEC snippet v22: serve both (docs/oicp.md#e15).
  const cdrPath = new RegExp(`^${escapeRegExp(base)}/cdrmgmt/v2[12]/operators/([^/]+)/charge-detail-record$`);
  const allowList = createIpAllowList(options.allowedIps);
  const tls = options.tls;
  const logger = options.logger;
  const tracer = options.tracer ?? defaultTracer();

  function route(path: string): { route: Route; operatorId: string | null } | null {
    if (path === notificationPath) return { route: NOTIFICATIONS, operatorId: null };
    const cdr = cdrPath.exec(path);
    return cdr ? { route: CDR, operatorId: safeDecode(cdr[1]!) } : null;
  }

  function onRequest(req: IncomingMessage, res: ServerResponse) {
    const sourceIp = displayAddress(req.socket.remoteAddress);
    // Checked before anything of the body is read.
    if (!allowList.allows(req.socket.remoteAddress)) {
      logger.warn({ sourceIp }, "OICP request from a source address that is not in OICP_ALLOWED_IPS refused");
      return forbid(res, "source address not allowed");
    }
    if (tls) {
      const socket = req.socket as TLSSocket;
      // requestCert + rejectUnauthorized already refused the handshake; this is a second lock.
      if (!socket.authorized) {
        logger.warn({ sourceIp }, "OICP request without a verified client certificate refused");
        return forbid(res, "client certificate required");
      }
      if (tls.allowedSubjects.length > 0) {
        const identity = peerIdentity(socket);
        if (!subjectAllowed(identity, tls.allowedSubjects)) {
          logger.warn({ subject: identity.subject, sourceIp }, "OICP client certificate not in OICP_TLS_ALLOWED_SUBJECTS refused");
          return forbid(res, "client certificate not allowed");
        }
      }
    }
    const path = (req.url ?? "/").split("?")[0]!;
    if (options.ops?.(req, res)) return;
    if (req.method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    const matched = route(path);
    if (!matched) return sendJson(res, 404, ack(false, "300", "Unknown endpoint"));
    if (req.method !== "POST") return sendJson(res, 405, ack(false, "022", "Use POST"));
    void withRequestId(requestIdFrom(req.headers["x-request-id"]), () => traced(req, res, matched.route, matched.operatorId));
  }

  let server: Server;
  let reloader: TlsReloader | null = null;
  if (tls) {
    const material = loadMaterialSync(tls);
    const https = createHttpsServer(
      {
        cert: material.cert,
        key: material.key,
        ca: material.ca,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: OICP_TLS_MIN_VERSION,
      },
      onRequest,
    );
    // A source that is not allowed is dropped before the TLS handshake costs anything: the TLS
    // layer's own "connection" listeners (which start the handshake) run only for allowed sources.
    if (!allowList.allowsAny) {
      const startTls = https.listeners("connection") as Array<(socket: Socket) => void>;
      https.removeAllListeners("connection");
      https.on("connection", (socket: Socket) => {
        if (allowList.allows(socket.remoteAddress)) {
          for (const listener of startTls) listener.call(https, socket);
          return;
        }
        logger.warn(
          { sourceIp: displayAddress(socket.remoteAddress) },
          "OICP connection from a source address that is not in OICP_ALLOWED_IPS dropped",
        );
        socket.destroy();
      });
    }
    https.on("tlsClientError", (error: Error & { code?: string }, socket: TLSSocket) => {
      logger.warn(
        { sourceIp: displayAddress(socket.remoteAddress), code: error.code ?? null, problem: error.message },
        "OICP TLS handshake refused",
      );
      socket.destroy();
    });
    reloader = startTlsReloader({
      files: tls,
      intervalMs: tls.reloadIntervalMs,
      initial: material,
      apply: (next) => https.setSecureContext({ cert: next.cert, key: next.key, ca: next.ca, minVersion: OICP_TLS_MIN_VERSION }),
      logger,
    });
    https.once("listening", () =>
      logger.info(
        {
          address: https.address(),
          certificate: material.server,
          allowedSubjects: tls.allowedSubjects,
          allowedIps: allowList.entries,
          reloadIntervalMs: tls.reloadIntervalMs,
        },
        "OICP listener requires a client certificate (mutual TLS)",
      ),
    );
    server = https;
  } else {
    server = createServer(onRequest);
    server.once("listening", () =>
      logger.warn(
        { address: server.address(), allowedIps: allowList.entries },
        "OICP listener is plain HTTP without client certificates: for local development only (set OICP_TLS_CERT, OICP_TLS_KEY, OICP_TLS_CLIENT_CA)",
      ),
    );
  }

  const dispose = () => reloader?.stop();
  server.once("close", dispose);
  return Object.assign(server, {
    scheme: tls ? ("https" as const) : ("http" as const),
    dispose,
    reloadTls: () => reloader?.check() ?? Promise.resolve(),
  });

  /** handle() inside the message's server span: what the service publishes carries this trace. */
  async function traced(req: IncomingMessage, res: ServerResponse, route: Route, operatorId: string | null) {
    const parent = contextFromHeaders(req.headers);
    const span = tracer.startSpan(
      `oicp ${route.operation}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "oicp.operation": route.operation,
          "http.request.method": "POST",
          "url.path": (req.url ?? "/").split("?")[0]!,
          ...(operatorId ? { "oicp.operator_id": operatorId } : {}),
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), () => handle(req, res, route, operatorId, span));
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, route: Route, operatorId: string | null, span: Span) {
    const log = options.logger.child({ operation: route.operation, operatorId });
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, options.maxBodyBytes));
    } catch (error) {
      const info = error instanceof BodyTooLargeError ? `Body larger than ${error.limit} bytes` : "Body is not valid JSON";
      log.warn({ problem: info }, "rejected inbound OICP message");
      options.onRejected?.(route.operation);
      rejectedOnSpan(span, info);
      return sendJson(res, 200, ack(false, "022", "Data error", info));
    }
    const parsed = route.parse(body, new Date());
    if (!parsed.ok) {
      log.warn({ problem: parsed.problem }, "rejected inbound OICP message");
      options.onRejected?.(route.operation);
      rejectedOnSpan(span, parsed.problem);
      return sendJson(res, 200, ack(false, "022", "Data error", parsed.problem));
    }
    const ids = parsed.value.ids;
    if (span.isRecording()) {
      span.setAttribute("oicp.message_type", parsed.value.message.type);
      if (ids.hubjectSessionId) span.setAttribute("oicp.session_id", ids.hubjectSessionId);
      if (ids.empPartnerSessionId) span.setAttribute("oicp.emp_partner_session_id", ids.empPartnerSessionId);
    }
    const echo = {
      SessionID: ids.hubjectSessionId,
      CPOPartnerSessionID: ids.cpoPartnerSessionId,
      EMPPartnerSessionID: ids.empPartnerSessionId,
    };
    try {
      const outcome = await options.sessions.receive(parsed.value);
      log.info(
        {
          hubjectSessionId: ids.hubjectSessionId,
          type: parsed.value.message.type,
          duplicate: outcome.duplicate,
          sessionId: outcome.session?.id ?? null,
        },
        "inbound OICP message stored",
      );
      if (span.isRecording()) {
        span.setAttribute("oicp.duplicate", outcome.duplicate);
        if (outcome.session) span.setAttribute("emp.session.id", outcome.session.id);
        span.setAttribute("oicp.status_code", "000");
        span.setAttribute("http.response.status_code", 200);
      }
      // Duplicates are acknowledged too (docs/oicp.md#duplicates).
      return sendJson(res, 200, { ...ack(true, "000", "Success"), ...echo });
    } catch (error) {
      log.error({ err: error, hubjectSessionId: ids.hubjectSessionId }, "could not store inbound OICP message");
      recordError(span, error, "could not store the message (answered 021)");
      span.setAttribute("oicp.status_code", "021");
      return sendJson(res, 200, { ...ack(false, "021", "System error"), ...echo });
    }
  }
}

/** A message answered 022 (not stored): an ERROR span, so that a CPO's malformed messages show up. */
function rejectedOnSpan(span: Span, problem: string) {
  if (!span.isRecording()) return;
  span.setAttribute("oicp.status_code", "022");
  span.setAttribute("error.type", "oicp-022");
  span.setStatus({ code: SpanStatusCode.ERROR, message: problem });
}

function ack(result: boolean, code: string, description: string, additionalInfo: string | null = null): OicpAcknowledgement {
  return { Result: result, StatusCode: { Code: code, Description: description, AdditionalInfo: additionalInfo } };
}

/** Not an OICP ack: whoever gets this is not Hubject. The connection is closed after it. */
function forbid(res: ServerResponse, reason: string) {
  res.setHeader("connection", "close");
  sendJson(res, 403, { error: "forbidden", reason });
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
