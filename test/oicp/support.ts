// Shared bits of the OICP listener tests: a logger that keeps its lines, a recording stand-in for
// SessionService.receive, a listener on an ephemeral port, and a client for it (http or https).
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { SecureVersion, TLSSocket } from "node:tls";
import { pino } from "pino";
import type { Logger } from "../../src/logger.js";
import { createOicpListener, type OicpListener, type OicpListenerOptions } from "../../src/oicp/inbound/listener.js";
import { oicpInboundReader } from "../../src/oicp/inbound/parse.js";
import type { InboundDelivery, SessionService } from "../../src/sessions/session.service.js";

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const LEVEL = { info: 30, warn: 40, error: 50 } as const;

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** Records each delivery and answers as the use case would for a message stored and waiting (the real reader names its ids). */
export function recordingSessions() {
  const calls: InboundDelivery[] = [];
  const sessions: Pick<SessionService, "receive"> = {
    receive: async (delivery) => {
      calls.push(delivery);
      const read = oicpInboundReader.read(delivery.kind, delivery.text, delivery.receivedAt);
      return read.ok
        ? {
            seq: calls.length,
            state: "waiting",
            type: read.value.message.type,
            duplicate: false,
            session: null,
            problem: null,
            ids: read.value.ids,
          }
        : { seq: calls.length, state: "rejected", type: null, duplicate: false, session: null, problem: read.problem, ids: null };
    },
  };
  return { sessions, calls };
}

export interface RunningListener {
  listener: OicpListener;
  port: number;
  calls: InboundDelivery[];
  lines: LogLine[];
  close(): Promise<void>;
}

export async function startListener(
  options: Pick<OicpListenerOptions, "tls" | "allowedIps">,
  host = "127.0.0.1",
): Promise<RunningListener> {
  const { logger, lines } = captureLogger();
  const { sessions, calls } = recordingSessions();
  const listener = createOicpListener({ sessions, logger, pathPrefix: "", maxBodyBytes: 1_048_576, ...options });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, host, () => resolve());
  });
  return {
    listener,
    port: (listener.address() as AddressInfo).port,
    calls,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        listener.closeAllConnections();
      }),
  };
}

export interface CallOptions {
  port: number;
  host?: string;
  method?: string;
  path?: string;
  body?: unknown;
  /** https with these PEMs; omit for plain http. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer; maxVersion?: SecureVersion };
}

export interface CallResult {
  status: number;
  body: any;
  /** sha256 fingerprint of the server certificate the connection saw (https only). */
  serverFingerprint: string | null;
}

/** One request on a fresh connection (no agent, no session reuse). */
export function call(options: CallOptions): Promise<CallResult> {
  const payload = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const common = {
    host: options.host ?? "127.0.0.1",
    port: options.port,
    method: options.method ?? (payload === undefined ? "GET" : "POST"),
    path: options.path ?? "/",
    agent: false as const,
    headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
  };
  return new Promise<CallResult>((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      const socket = res.socket as TLSSocket | null;
      const serverFingerprint = options.tls && socket?.getPeerCertificate ? (socket.getPeerCertificate().fingerprint256 ?? null) : null;
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body, serverFingerprint });
      });
    };
    const req = options.tls
      ? https.request(
          { ...common, ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, maxVersion: options.tls.maxVersion },
          onResponse,
        )
      : http.request(common, onResponse);
    req.setTimeout(5_000, () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end(payload);
  });
}
