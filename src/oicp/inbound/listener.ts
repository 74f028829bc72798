// The inbound OICP listener: what Hubject calls (docs/oicp.md#inbound), routed by the table in
// routes.ts to one handler per message type. Every answer is HTTP 200 with an OICP body; a body
// that is too large or not JSON gets Result:false with 022 and changes nothing.
//
// Only Hubject may call (docs/oicp.md#transport, #q4): with `tls`, an https server that demands a client
// certificate signed by OICP_TLS_CLIENT_CA (TLS 1.2+), optionally with a CN / DNS name from
// OICP_TLS_ALLOWED_SUBJECTS; with `allowedIps`, only those source addresses. A caller that fails
// these checks is not Hubject, so it gets HTTP 403 with a small JSON body, not an OICP ack.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { context, type Span, SpanKind, type Tracer, trace } from "@opentelemetry/api";
import { BodyTooLargeError, readBody, sendJson } from "../../lib/http.js";
import type { Logger } from "../../logger.js";
import type { OpsHandler } from "../../observability/ops-endpoints.js";
import { requestIdFrom, withRequestId } from "../../observability/request-context.js";
import { contextFromHeaders, defaultTracer, recordError } from "../../observability/tracing-context.js";
import { ack, rejectedOnSpan } from "./handler.js";
import { createIpAllowList, displayAddress } from "./ip-allow-list.js";
import { type InboundRoute, type InboundRouteDeps, inboundRoutes, matchRoute } from "./routes.js";
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

export interface OicpListenerOptions extends InboundRouteDeps {
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

export function createOicpListener(options: OicpListenerOptions): OicpListener {
  const routes = inboundRoutes(options.pathPrefix, options);
  const allowList = createIpAllowList(options.allowedIps);
  const tls = options.tls;
  const logger = options.logger;
  const tracer = options.tracer ?? defaultTracer();

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
    const matched = matchRoute(routes, path);
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

  /** handle() inside the message's server span: what the use cases publish carries this trace. */
  async function traced(req: IncomingMessage, res: ServerResponse, route: InboundRoute, operatorId: string | null) {
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

  async function handle(req: IncomingMessage, res: ServerResponse, route: InboundRoute, operatorId: string | null, span: Span) {
    const log = options.logger.child({ operation: route.operation, operatorId });
    let body: unknown;
    let text: string;
    try {
      text = await readBody(req, options.maxBodyBytes);
      body = JSON.parse(text);
    } catch (error) {
      const info = error instanceof BodyTooLargeError ? `Body larger than ${error.limit} bytes` : "Body is not valid JSON";
      log.warn({ problem: info }, "rejected inbound OICP message: not stored");
      options.onRejected?.(route.operation);
      rejectedOnSpan(span, info);
      return sendJson(res, 200, route.unreadable?.(info) ?? ack(false, "022", "Data error", info));
    }
    sendJson(res, 200, await route.handle({ text, body, operatorId, receivedAt: new Date(), span, log }));
  }
}

/** Not an OICP ack: whoever gets this is not Hubject. The connection is closed after it. */
function forbid(res: ServerResponse, reason: string) {
  res.setHeader("connection", "close");
  sendJson(res, 403, { error: "forbidden", reason });
}
