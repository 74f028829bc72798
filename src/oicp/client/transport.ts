// The HTTP transport to Hubject: got over keep-alive agents with the client certificate of mutual
// TLS, no retries and no redirects of its own. One call of send() is one request on the wire; it
// never throws for anything the network or Hubject does, it describes it (answer.ts).
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import got, { type Got, RequestError, TimeoutError } from "got";
import { parseJsonOrUndefined } from "../../lib/json.js";
import type { Logger } from "../../logger.js";
import type { Exchange, PostRequest } from "./answer.js";
import { isTlsErrorCode } from "./answer.js";
import { configurationError } from "./errors.js";

export interface TransportOptions {
  /** e.g. "https://service-qa.hubject.com/api/oicp" or the simulator's "http://127.0.0.1:PORT/api/oicp". */
  baseUrl: string;
  /** Mutual TLS to Hubject. The files are read once, here. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
  /** Keep-alive sockets per agent (HUBJECT_MAX_SOCKETS). */
  maxSockets: number;
  log: Logger;
}

/** Connecting (TCP + TLS) gets its own short limit: failing there proves nothing was sent. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Idle keep-alive sockets are closed after this, or 1 s before the server's `Keep-Alive: timeout=N`
 * hint (Node only applies the hint when the agent has a timeout). Reusing a socket the server is
 * closing produces ECONNRESET after the request was written, which for a remote start would be an
 * "unknown" outcome although nothing reached Hubject. Active requests are not affected.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

export class HttpTransport {
  /** The base URL without a trailing slash (spans name it). */
  readonly baseUrl: string;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly client: Got;
  private readonly log: Logger;
  private closed = false;

  constructor(options: TransportOptions) {
    this.baseUrl = parseBaseUrl(options.baseUrl);
    this.log = options.log;
    const pool = { keepAlive: true, maxSockets: options.maxSockets, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.httpAgent = new http.Agent(pool);
    // Agent options are merged into every tls.connect(), so the client certificate applies to all calls.
    this.httpsAgent = new https.Agent({ ...pool, ...readTlsFiles(options.tls) });
    // The per-request work of got (merging defaults, building hooks) is done once, here.
    this.client = got.extend({
      prefixUrl: this.baseUrl,
      agent: { http: this.httpAgent, https: this.httpsAgent },
      http2: false,
      // Every outcome is mapped by answer.ts; remote start/stop must never be re-sent (docs/oicp.md#lost-answer).
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      responseType: "text",
      headers: { "content-type": "application/json", accept: "application/json", "user-agent": "emp-charging-gateway" },
    });
  }

  /** One request on the wire; a closed transport answers "unreachable" without sending. */
  async send(request: PostRequest): Promise<Exchange> {
    if (this.closed) return closedExchange();
    const started = Date.now();
    try {
      const response = await this.client.post(request.path, {
        body: JSON.stringify(request.body),
        ...(request.searchParams ? { searchParams: request.searchParams } : {}),
        timeout: {
          request: request.timeoutMs,
          connect: Math.min(CONNECT_TIMEOUT_MS, request.timeoutMs),
          secureConnect: Math.min(CONNECT_TIMEOUT_MS, request.timeoutMs),
        },
      });
      const processId = headerValue(response.headers["process-id"]);
      this.log.debug(
        {
          ...request.logFields,
          operation: request.operation,
          processId,
          httpStatus: response.statusCode,
          durationMs: Date.now() - started,
        },
        "hubject answered",
      );
      return {
        type: "response",
        httpStatus: response.statusCode,
        text: response.body,
        json: parseJsonOrUndefined(response.body),
        processId,
        retryAfter: headerValue(response.headers["retry-after"]),
      };
    } catch (error) {
      const exchange = classifyTransportError(error);
      this.log.debug(
        {
          ...request.logFields,
          operation: request.operation,
          failure: exchange.failure,
          code: exchange.code,
          durationMs: Date.now() - started,
        },
        "hubject call failed",
      );
      return exchange;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Destroys the keep-alive agents; later calls fail as unreachable. */
  close(): void {
    this.closed = true;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

export function closedExchange(): Exchange {
  return { type: "transport-error", failure: "unreachable", code: "ERR_CLOSED", detail: "the Hubject client is closed" };
}

function classifyTransportError(error: unknown): Extract<Exchange, { type: "transport-error" }> {
  if (!(error instanceof RequestError)) {
    // Not a transport problem got knows (e.g. an invalid option): nothing was sent.
    const message = error instanceof Error ? error.message : String(error);
    return { type: "transport-error", failure: "unreachable", code: "ERR_UNKNOWN", detail: message };
  }
  const code = error.code;
  const timings = error.timings;
  const detail = `${code}: ${error.message.trim()}`;
  if (error instanceof TimeoutError) {
    // Timed out before a connection existed: nothing can have been sent.
    if (timings?.connect === undefined || error.event === "lookup" || error.event === "connect" || error.event === "secureConnect") {
      return { type: "transport-error", failure: "unreachable", code, detail: `${detail} (while connecting)` };
    }
    return { type: "transport-error", failure: "timeout", code, detail };
  }
  // A TLS failure (including the server refusing our client certificate, which under TLS 1.3
  // may only surface after we wrote the request) means Hubject did not process anything.
  if (isTlsErrorCode(code)) return { type: "transport-error", failure: "tls", code, detail };
  // Only once the whole request was written can Hubject have acted on it.
  if (timings?.upload === undefined) return { type: "transport-error", failure: "unreachable", code, detail };
  return { type: "transport-error", failure: "connection-lost", code, detail };
}

function parseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw configurationError(`baseUrl "${baseUrl}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw configurationError(`baseUrl must be http(s), got ${url.protocol}`);
  return url.toString().replace(/\/+$/, "");
}

function readTlsFiles(tls: TransportOptions["tls"]): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  const read = (label: string, file: string | undefined): Buffer | undefined => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw configurationError(`cannot read TLS ${label} file ${file}`, error);
    }
  };
  const cert = read("certificate", tls?.certFile);
  const key = read("key", tls?.keyFile);
  const ca = read("CA", tls?.caFile);
  if ((cert === undefined) !== (key === undefined)) throw configurationError("tls.certFile and tls.keyFile must be given together");
  return { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}) };
}

function headerValue(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.length > 0 ? first : null;
}
