// The one client for Hubject's OICP 2.3 REST API (EMP side). Everything that knows the wire
// shape of the calls the gateway *sends* lives here; callers get domain-friendly results.
//
// Outcome rules (FACTS.md §5, §6.2):
// * Remote start/stop are never retried. Anything that may have reached Hubject (timeout, a
//   connection lost after the request was written, 408/5xx, an unreadable 200) is "unknown":
//   the caller reconciles instead of re-sending.
// * "failed" is reserved for answers that prove nothing was executed.
// * The two safe pulls throw a HubjectError with a `retryable` flag. They are not retried yet
//   either: a later issue adds backoff and a circuit breaker around `post()`, the single seam
//   every call goes through.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import got, { RequestError, TimeoutError, type Got } from "got";
import { createLogger, redactEvcoId, type Logger } from "../logger.js";
import {
  EVCO_ID,
  EVSE_ID,
  PARTNER_SESSION_ID_MAX,
  PRODUCT_ID_MAX,
  PROVIDER_ID,
  SESSION_ID,
  sameEvseId,
} from "../oicp/identifiers.js";
import {
  OICP_EVSE_STATUSES,
  oicpPaths,
  type HubjectValidationErrorBody,
  type OicpAuthorizeRemoteStart,
  type OicpAuthorizeRemoteStop,
  type OicpChargeDetailRecord,
  type OicpEvseStatus,
  type OicpGetChargeDetailRecords,
  type OicpPullEvseStatusById,
} from "../oicp/wire.js";

// ---------------------------------------------------------------------------------------------
// Public types

export interface HubjectDatasourceOptions {
  /** e.g. "https://service-qa.hubject.com/api/oicp" or the simulator's "http://127.0.0.1:PORT/api/oicp". */
  baseUrl: string;
  providerId: string;
  /** Mutual TLS to Hubject. The files are read once, at construction. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
  /** Remote start/stop. Default 90 s; must stay above the CPO's 60 s window (FACTS.md §1, E18). */
  remoteTimeoutMs?: number;
  /** Every other call. Default 15 s. */
  requestTimeoutMs?: number;
  /** Keep-alive pool size per agent. Default 64. */
  maxSockets?: number;
  logger?: Logger;
}

/**
 * Test-only switches, deliberately a separate constructor argument: configuration code builds
 * `HubjectDatasourceOptions` from the environment and never passes this, so no setting can
 * lower the remote timeout below the CPO window in production.
 */
export interface HubjectDatasourceTestOverrides {
  /** Accept `remoteTimeoutMs <= 60_000` so a test can provoke a timeout in milliseconds. */
  allowShortRemoteTimeout: true;
}

export interface OicpStatus {
  code: string;
  description: string | null;
  additionalInfo: string | null;
}

export type RemoteCallOutcome =
  | {
      kind: "answered";
      result: boolean;
      status: OicpStatus;
      hubjectSessionId: string | null;
      cpoPartnerSessionId: string | null;
      empPartnerSessionId: string | null;
      processId: string | null;
    }
  /** The request may have reached Hubject/the CPO: timeout, connection lost after sending, 408/5xx, unparseable 200 body. Never retried (FACTS.md §6.2). */
  | {
      kind: "unknown";
      reason: "timeout" | "connection-lost" | "upstream-error" | "bad-response";
      detail: string;
      processId: string | null;
    }
  /** Certainly not executed: could not connect, 401/017, 403 firewall, 400 validation, 429 rate limit, 404. */
  | {
      kind: "failed";
      reason: "unreachable" | "unauthorized" | "forbidden" | "invalid-request" | "rate-limited" | "not-found";
      status: OicpStatus;
      httpStatus: number | null;
      detail: string;
      processId: string | null;
    };

export type HubjectErrorKind = "UNAVAILABLE" | "CONFIGURATION" | "BAD_RESPONSE" | "INVALID_REQUEST";

export class HubjectError extends Error {
  override readonly name = "HubjectError";
  readonly kind: HubjectErrorKind;
  readonly status: OicpStatus | null;
  readonly httpStatus: number | null;
  readonly processId: string | null;
  /** True when the same request may succeed later (after backoff). */
  readonly retryable: boolean;

  constructor(
    kind: HubjectErrorKind,
    message: string,
    details: {
      status?: OicpStatus | null;
      httpStatus?: number | null;
      processId?: string | null;
      retryable?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status ?? null;
    this.httpStatus = details.httpStatus ?? null;
    this.processId = details.processId ?? null;
    this.retryable = details.retryable ?? false;
  }
}

export const DEFAULT_REMOTE_TIMEOUT_MS = 90_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_SOCKETS = 64;
/** Hubject gives the CPO 60 s to answer a remote start/stop (FACTS.md §1, E18). */
export const CPO_REMOTE_WINDOW_MS = 60_000;
/** PullEvseStatusByID takes at most 100 EvseIDs (FACTS.md §2.4). */
export const MAX_EVSE_IDS_PER_STATUS_PULL = 100;
/** GetChargeDetailRecords pages hold at most 2000 records (FACTS.md §2). */
export const MAX_CDR_PAGE_SIZE = 2000;
export const DEFAULT_CDR_PAGE_SIZE = 100;
/** Connecting (TCP + TLS) gets its own short limit: failing there proves nothing was sent. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Idle keep-alive sockets are closed after this, or 1 s before the server's `Keep-Alive: timeout=N`
 * hint (Node only applies the hint when the agent has a timeout). Reusing a socket the server is
 * closing produces ECONNRESET after the request was written, which for a remote start would be an
 * "unknown" outcome although nothing reached Hubject. Active requests are not affected.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Internal transport types (the seam a later issue wraps with backoff and a circuit breaker)

type OicpOperation = "AuthorizeRemoteStart" | "AuthorizeRemoteStop" | "PullEvseStatusById" | "GetChargeDetailRecords";

interface PostRequest {
  operation: OicpOperation;
  path: string;
  body: unknown;
  timeoutMs: number;
  /** Safe to repeat (pulls). Remote start/stop are not: the later retry layer must honour this. */
  idempotent: boolean;
  searchParams?: Record<string, string | number>;
}

/** What came back over the wire, before any OICP interpretation. */
type Exchange =
  | { type: "response"; httpStatus: number; json: unknown; text: string; processId: string | null; retryAfter: string | null }
  | {
      type: "transport-error";
      /** unreachable/tls: nothing was (completely) sent or the handshake failed; the others may have reached Hubject. */
      failure: "unreachable" | "tls" | "timeout" | "connection-lost";
      code: string;
      detail: string;
    };

/** The HTTP answer classified the same way for every operation. */
type HttpVerdict =
  | { verdict: "ok"; json: unknown; httpStatus: number; processId: string | null }
  | { verdict: "bad-response"; detail: string; httpStatus: number; processId: string | null }
  | { verdict: "upstream-error"; detail: string; status: OicpStatus | null; httpStatus: number; processId: string | null }
  | {
      verdict: "rejected";
      reason: "unauthorized" | "forbidden" | "invalid-request" | "rate-limited" | "not-found";
      status: OicpStatus;
      detail: string;
      httpStatus: number;
      processId: string | null;
    };

const TLS_ERROR_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REJECTED",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "HOSTNAME_MISMATCH",
  "EPROTO",
]);
const isTlsErrorCode = (code: string): boolean =>
  TLS_ERROR_CODES.has(code) || /^ERR_(TLS|SSL|OSSL)_/.test(code);

// ---------------------------------------------------------------------------------------------

export class HubjectDatasource {
  private readonly providerId: string;
  /** Effective timeouts, readable for diagnostics and tests. */
  readonly remoteTimeoutMs: number;
  readonly requestTimeoutMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly client: Got;
  private readonly log: Logger;
  private closed = false;

  constructor(options: HubjectDatasourceOptions, testOverrides?: HubjectDatasourceTestOverrides) {
    const url = parseBaseUrl(options.baseUrl);
    if (!PROVIDER_ID.test(options.providerId)) {
      throw new HubjectError("CONFIGURATION", `providerId "${options.providerId}" is not an OICP ProviderID`);
    }
    this.providerId = options.providerId;

    this.remoteTimeoutMs = positive("remoteTimeoutMs", options.remoteTimeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS);
    if (this.remoteTimeoutMs <= CPO_REMOTE_WINDOW_MS && testOverrides?.allowShortRemoteTimeout !== true) {
      // A shorter client timeout loses the SessionID of sessions that do start (FACTS.md §1, E18).
      throw new HubjectError(
        "CONFIGURATION",
        `remoteTimeoutMs must be greater than ${CPO_REMOTE_WINDOW_MS} (the CPO's answer window), got ${this.remoteTimeoutMs}`,
      );
    }
    this.requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const maxSockets = positive("maxSockets", options.maxSockets ?? DEFAULT_MAX_SOCKETS);

    this.log = (options.logger ?? createLogger()).child({ component: "hubject-datasource" });

    const tls = readTlsFiles(options.tls);
    const pool = { keepAlive: true, maxSockets, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.httpAgent = new http.Agent(pool);
    // Agent options are merged into every tls.connect(), so the client certificate applies to all calls.
    this.httpsAgent = new https.Agent({ ...pool, ...tls });

    this.client = got.extend({
      prefixUrl: url,
      agent: { http: this.httpAgent, https: this.httpsAgent },
      http2: false,
      // Every outcome is mapped below; remote start/stop must never be re-sent (FACTS.md §6.2).
      throwHttpErrors: false,
      retry: { limit: 0 },
      followRedirect: false,
      responseType: "text",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        "user-agent": "emp-charging-gateway",
      },
    });
  }

  /** Remote start (FACTS.md §2.1): no SessionID, Identification is only RemoteIdentification. */
  async authorizeRemoteStart(req: {
    evseId: string;
    evcoId: string;
    empPartnerSessionId: string;
    partnerProductId?: string | null;
  }): Promise<RemoteCallOutcome> {
    const problems = [
      ...checkEvseId(req.evseId),
      ...(EVCO_ID.test(req.evcoId) ? [] : ["EvcoID does not match the OICP EvcoID format"]),
      ...checkPartnerSessionId("EMPPartnerSessionID", req.empPartnerSessionId),
    ];
    if (req.partnerProductId != null && (req.partnerProductId.length === 0 || req.partnerProductId.length > PRODUCT_ID_MAX)) {
      problems.push(`PartnerProductID must be 1..${PRODUCT_ID_MAX} characters`);
    }
    const logFields = { operation: "AuthorizeRemoteStart", evseId: req.evseId, evco: redactEvcoId(req.evcoId) };
    if (problems.length > 0) return this.rejectLocally(logFields, problems);

    const body: OicpAuthorizeRemoteStart = {
      ProviderID: this.providerId,
      EvseID: req.evseId,
      Identification: { RemoteIdentification: { EvcoID: req.evcoId } },
      EMPPartnerSessionID: req.empPartnerSessionId,
      ...(req.partnerProductId != null ? { PartnerProductID: req.partnerProductId } : {}),
    };
    const exchange = await this.post({
      operation: "AuthorizeRemoteStart",
      path: oicpPaths.remoteStart(this.providerId),
      body,
      timeoutMs: this.remoteTimeoutMs,
      idempotent: false,
    });
    return this.toRemoteOutcome(exchange, logFields);
  }

  /** Remote stop (FACTS.md §2.2). The path carries the ProviderID, not the OAS's `{externalID}` (E1). */
  async authorizeRemoteStop(req: {
    hubjectSessionId: string;
    evseId: string;
    empPartnerSessionId?: string | null;
    cpoPartnerSessionId?: string | null;
  }): Promise<RemoteCallOutcome> {
    const problems = [
      ...(SESSION_ID.test(req.hubjectSessionId) ? [] : ["SessionID does not match the OICP SessionID format"]),
      ...checkEvseId(req.evseId),
      ...(req.empPartnerSessionId != null ? checkPartnerSessionId("EMPPartnerSessionID", req.empPartnerSessionId) : []),
      ...(req.cpoPartnerSessionId != null ? checkPartnerSessionId("CPOPartnerSessionID", req.cpoPartnerSessionId) : []),
    ];
    const logFields = { operation: "AuthorizeRemoteStop", evseId: req.evseId, hubjectSessionId: req.hubjectSessionId };
    if (problems.length > 0) return this.rejectLocally(logFields, problems);

    const body: OicpAuthorizeRemoteStop = {
      SessionID: req.hubjectSessionId,
      ProviderID: this.providerId,
      EvseID: req.evseId,
      ...(req.empPartnerSessionId != null ? { EMPPartnerSessionID: req.empPartnerSessionId } : {}),
      ...(req.cpoPartnerSessionId != null ? { CPOPartnerSessionID: req.cpoPartnerSessionId } : {}),
    };
    const exchange = await this.post({
      operation: "AuthorizeRemoteStop",
      path: oicpPaths.remoteStop(this.providerId),
      body,
      timeoutMs: this.remoteTimeoutMs,
      idempotent: false,
    });
    return this.toRemoteOutcome(exchange, logFields);
  }

  /**
   * At most 100 distinct ids (throws HubjectError INVALID_REQUEST otherwise); returns EvseID ->
   * OicpEvseStatus for every id asked (missing in answer -> "Unknown"). Throws HubjectError on failure.
   *
   * Duplicates (compared case-insensitively, E11) are sent once: Hubject answers 018 to duplicate
   * EvseIDs. Ids that do not match the EvseID format are not sent (Hubject would reject the whole
   * batch with HTTP 400) and come back as "Unknown".
   */
  async pullEvseStatusById(evseIds: readonly string[]): Promise<Map<string, OicpEvseStatus>> {
    const distinct: string[] = [];
    const seen = new Set<string>();
    for (const id of evseIds) {
      const key = id.toUpperCase();
      if (!seen.has(key)) {
        seen.add(key);
        distinct.push(id);
      }
    }
    if (distinct.length > MAX_EVSE_IDS_PER_STATUS_PULL) {
      throw new HubjectError(
        "INVALID_REQUEST",
        `PullEvseStatusByID takes at most ${MAX_EVSE_IDS_PER_STATUS_PULL} EvseIDs, got ${distinct.length}`,
      );
    }
    const result = new Map<string, OicpEvseStatus>(evseIds.map((id) => [id, "Unknown"]));
    const toSend = distinct.filter((id) => EVSE_ID.test(id));
    if (toSend.length < distinct.length) {
      this.log.warn({ operation: "PullEvseStatusById", skipped: distinct.filter((id) => !EVSE_ID.test(id)) }, "not sending malformed EvseIDs");
    }
    if (toSend.length === 0) return result;

    const body: OicpPullEvseStatusById = { ProviderID: this.providerId, EvseID: toSend };
    const exchange = await this.post({
      operation: "PullEvseStatusById",
      path: oicpPaths.pullEvseStatusById(this.providerId),
      body,
      timeoutMs: this.requestTimeoutMs,
      idempotent: true,
    });
    const json = this.expectOk("PullEvseStatusById", exchange);
    const processId = exchange.type === "response" ? exchange.processId : null;
    if (!isRecord(json)) throw badResponse("PullEvseStatusById: body is not a JSON object", processId);

    const recordsNode = json.EVSEStatusRecords ?? json.EvseStatusRecords;
    const status = readStatusCode(json.StatusCode);
    if (status && status.code !== "000") throw errorForStatus("PullEvseStatusById", status, 200, processId);
    if (recordsNode === undefined && status === null) {
      throw badResponse("PullEvseStatusById: neither EVSEStatusRecords nor StatusCode in the answer", processId);
    }
    const records = isRecord(recordsNode) ? asArray(recordsNode.EvseStatusRecord) : [];
    for (const record of records) {
      if (!isRecord(record) || typeof record.EvseID !== "string") continue;
      const evseStatus = toEvseStatus(record.EvseStatus);
      for (const asked of evseIds) {
        if (sameEvseId(asked, record.EvseID)) result.set(asked, evseStatus);
      }
    }
    return result;
  }

  /** One page of GetChargeDetailRecords (FACTS.md §2.6); the caller pages. */
  async getChargeDetailRecords(req: {
    from: Date;
    to: Date;
    sessionIds?: string[];
    cdrForwarded?: boolean;
    page?: number;
    size?: number;
  }): Promise<{ records: OicpChargeDetailRecord[]; last: boolean; totalPages: number }> {
    const page = req.page ?? 0;
    const size = req.size ?? DEFAULT_CDR_PAGE_SIZE;
    if (!Number.isInteger(page) || page < 0) throw new HubjectError("INVALID_REQUEST", `page must be an integer >= 0, got ${page}`);
    if (!Number.isInteger(size) || size < 1 || size > MAX_CDR_PAGE_SIZE) {
      throw new HubjectError("INVALID_REQUEST", `size must be an integer in 1..${MAX_CDR_PAGE_SIZE}, got ${size}`);
    }
    if (Number.isNaN(req.from.getTime()) || Number.isNaN(req.to.getTime()) || req.from > req.to) {
      throw new HubjectError("INVALID_REQUEST", "from and to must be valid dates with from <= to");
    }
    const badSessionIds = (req.sessionIds ?? []).filter((id) => !SESSION_ID.test(id));
    if (badSessionIds.length > 0) {
      throw new HubjectError("INVALID_REQUEST", `not OICP SessionIDs: ${badSessionIds.join(", ")}`);
    }

    const body: OicpGetChargeDetailRecords = {
      ProviderID: this.providerId,
      From: toOicpDateTime(req.from, "floor"),
      To: toOicpDateTime(req.to, "ceil"),
      ...(req.sessionIds && req.sessionIds.length > 0 ? { SessionID: [...req.sessionIds] } : {}),
      // CDRForwarded, not the OAS's misspelt CDRForwarder (FACTS.md E6).
      ...(req.cdrForwarded !== undefined ? { CDRForwarded: req.cdrForwarded } : {}),
    };
    const exchange = await this.post({
      operation: "GetChargeDetailRecords",
      path: oicpPaths.getChargeDetailRecords(this.providerId),
      body,
      timeoutMs: this.requestTimeoutMs,
      idempotent: true,
      searchParams: { page, size },
    });
    const json = this.expectOk("GetChargeDetailRecords", exchange);
    const processId = exchange.type === "response" ? exchange.processId : null;
    if (!isRecord(json)) throw badResponse("GetChargeDetailRecords: body is not a JSON object", processId);

    const status = readStatusCode(json.StatusCode);
    if (status && status.code !== "000") throw errorForStatus("GetChargeDetailRecords", status, 200, processId);
    if (json.content !== undefined && json.content !== null && !Array.isArray(json.content)) {
      throw badResponse("GetChargeDetailRecords: content is not an array", processId);
    }
    const records: OicpChargeDetailRecord[] = [];
    for (const raw of asArray(json.content)) {
      const record = toChargeDetailRecord(raw);
      if (record) records.push(record);
      else this.log.warn({ operation: "GetChargeDetailRecords", processId }, "dropped a CDR without SessionID/EvseID");
    }
    const number = typeof json.number === "number" ? json.number : page;
    const totalPages = typeof json.totalPages === "number" ? json.totalPages : records.length > 0 ? number + 1 : 0;
    const last = typeof json.last === "boolean" ? json.last : number + 1 >= totalPages;
    return { records, last, totalPages };
  }

  /** Destroys the keep-alive agents; later calls fail as unreachable. */
  close(): void {
    this.closed = true;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // The seam: every request goes through here. No retries (yet) for any operation.

  private async post(request: PostRequest): Promise<Exchange> {
    if (this.closed) {
      return { type: "transport-error", failure: "unreachable", code: "ERR_CLOSED", detail: "the Hubject datasource is closed" };
    }
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
        { operation: request.operation, processId, httpStatus: response.statusCode, durationMs: Date.now() - started },
        "hubject answered",
      );
      return {
        type: "response",
        httpStatus: response.statusCode,
        text: response.body,
        json: parseJson(response.body),
        processId,
        retryAfter: headerValue(response.headers["retry-after"]),
      };
    } catch (error) {
      const exchange = classifyTransportError(error);
      this.log.debug(
        { operation: request.operation, failure: exchange.failure, code: exchange.code, durationMs: Date.now() - started },
        "hubject call failed",
      );
      return exchange;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Mapping

  private toRemoteOutcome(exchange: Exchange, logFields: Record<string, unknown>): RemoteCallOutcome {
    const outcome = remoteOutcomeOf(exchange);
    const fields = { ...logFields, kind: outcome.kind, processId: outcome.processId };
    if (outcome.kind === "answered") {
      this.log.info({ ...fields, result: outcome.result, code: outcome.status.code, hubjectSessionId: outcome.hubjectSessionId }, "remote call answered");
    } else {
      this.log.warn({ ...fields, reason: outcome.reason, detail: outcome.detail }, "remote call not answered");
    }
    return outcome;
  }

  private rejectLocally(logFields: Record<string, unknown>, problems: string[]): RemoteCallOutcome {
    const detail = problems.join("; ");
    this.log.warn({ ...logFields, detail }, "remote call rejected before sending");
    return {
      kind: "failed",
      reason: "invalid-request",
      status: synthesized("022", "Data error", detail),
      httpStatus: null,
      detail,
      processId: null,
    };
  }

  /** For the safe pulls: the parsed 2xx body, or a HubjectError. */
  private expectOk(operation: OicpOperation, exchange: Exchange): unknown {
    if (exchange.type === "transport-error") {
      const tls = exchange.failure === "tls";
      const error = new HubjectError(tls ? "CONFIGURATION" : "UNAVAILABLE", `${operation}: ${exchange.detail}`, {
        retryable: !tls,
      });
      this.log.warn({ operation, failure: exchange.failure, code: exchange.code }, "hubject call failed");
      throw error;
    }
    const verdict = httpVerdictOf(exchange);
    const { processId, httpStatus } = verdict;
    switch (verdict.verdict) {
      case "ok":
        return verdict.json;
      case "bad-response":
        throw badResponse(`${operation}: ${verdict.detail}`, processId, httpStatus);
      case "upstream-error":
        throw new HubjectError("UNAVAILABLE", `${operation}: ${verdict.detail}`, {
          status: verdict.status,
          httpStatus,
          processId,
          retryable: true,
        });
      case "rejected": {
        const kind: HubjectErrorKind =
          verdict.reason === "invalid-request" ? "INVALID_REQUEST" : verdict.reason === "rate-limited" ? "UNAVAILABLE" : "CONFIGURATION";
        this.log.warn({ operation, reason: verdict.reason, httpStatus, processId }, "hubject rejected the call");
        throw new HubjectError(kind, `${operation}: ${verdict.detail}`, {
          status: verdict.status,
          httpStatus,
          processId,
          retryable: verdict.reason === "rate-limited",
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers (exported ones are for tests and the later retry layer)

function remoteOutcomeOf(exchange: Exchange): RemoteCallOutcome {
  if (exchange.type === "transport-error") {
    switch (exchange.failure) {
      case "unreachable":
      case "tls":
        return {
          kind: "failed",
          reason: "unreachable",
          status: synthesized("320", "Service not available", exchange.detail),
          httpStatus: null,
          detail: exchange.detail,
          processId: null,
        };
      case "timeout":
        return { kind: "unknown", reason: "timeout", detail: exchange.detail, processId: null };
      case "connection-lost":
        return { kind: "unknown", reason: "connection-lost", detail: exchange.detail, processId: null };
    }
  }
  const verdict = httpVerdictOf(exchange);
  const { processId, httpStatus } = verdict;
  switch (verdict.verdict) {
    case "bad-response":
      return { kind: "unknown", reason: "bad-response", detail: verdict.detail, processId };
    case "upstream-error":
      return { kind: "unknown", reason: "upstream-error", detail: verdict.detail, processId };
    case "rejected":
      return { kind: "failed", reason: verdict.reason, status: verdict.status, httpStatus, detail: verdict.detail, processId };
    case "ok": {
      const ack = readAcknowledgement(verdict.json);
      if (typeof ack === "string") {
        return { kind: "unknown", reason: "bad-response", detail: `HTTP ${httpStatus}: ${ack}`, processId };
      }
      return { kind: "answered", ...ack, processId };
    }
  }
}

/** HTTP-level classification shared by all operations (FACTS.md §5, "HTTP level"). */
function httpVerdictOf(exchange: Extract<Exchange, { type: "response" }>): HttpVerdict {
  const { httpStatus, json, processId } = exchange;
  const bodyStatus = isRecord(json) ? readStatusCode(json.StatusCode) : null;
  const snippet = exchange.text.length > 200 ? `${exchange.text.slice(0, 200)}…` : exchange.text;

  if (httpStatus >= 200 && httpStatus < 300) {
    if (json === undefined) return { verdict: "bad-response", detail: `HTTP ${httpStatus} with a body that is not JSON: ${snippet}`, httpStatus, processId };
    return { verdict: "ok", json, httpStatus, processId };
  }
  if (httpStatus === 408 || httpStatus >= 500) {
    const codeInfo = bodyStatus ? ` (StatusCode ${bodyStatus.code})` : "";
    return { verdict: "upstream-error", detail: `HTTP ${httpStatus}${codeInfo}`, status: bodyStatus, httpStatus, processId };
  }
  const rejected = (
    reason: Extract<HttpVerdict, { verdict: "rejected" }>["reason"],
    status: OicpStatus,
    detail: string,
  ): HttpVerdict => ({ verdict: "rejected", reason, status, detail, httpStatus, processId });

  switch (httpStatus) {
    case 400: {
      const detail = describeValidationErrors(json) ?? `HTTP 400: ${snippet}`;
      return rejected("invalid-request", bodyStatus ?? synthesized("022", "Data error", detail), detail);
    }
    case 401:
      // Certificate does not match the ProviderID, or it expired (FACTS.md §1).
      return rejected(
        "unauthorized",
        bodyStatus ?? synthesized("017", "Unauthorized Access", "HTTP 401 without an OICP body"),
        `HTTP 401: ${bodyStatus?.description ?? "Unauthorized Access"} (${bodyStatus?.code ?? "017"})`,
      );
    case 403:
      // An HTML page from Hubject's firewall: the egress IP is not allow-listed (FACTS.md §1).
      return rejected(
        "forbidden",
        bodyStatus ?? synthesized("017", "Forbidden", "HTTP 403 from Hubject's firewall: is the egress IP allow-listed?"),
        "HTTP 403 (firewall / IP allow-list)",
      );
    case 404:
      return rejected(
        "not-found",
        bodyStatus ?? synthesized("300", "Not found", `HTTP 404: ${snippet}`),
        `HTTP 404: ${isRecord(json) && typeof json.message === "string" ? json.message : "not found"}`,
      );
    case 429:
      // Rate limits per operation: FACTS.md §1 (AUP).
      return rejected(
        "rate-limited",
        bodyStatus ?? synthesized("320", "Rate limited", "HTTP 429 Too Many Requests"),
        `HTTP 429 Too Many Requests${exchange.retryAfter ? `, Retry-After ${exchange.retryAfter}` : ""}`,
      );
  }
  if (httpStatus >= 300 && httpStatus < 400) {
    // Redirects are not followed: a POST must not silently change target. Wrong base URL?
    return rejected("not-found", bodyStatus ?? synthesized("300", "Not found", `HTTP ${httpStatus} redirect`), `HTTP ${httpStatus} redirect (check the base URL)`);
  }
  if (httpStatus >= 400) {
    return rejected("invalid-request", bodyStatus ?? synthesized("022", "Data error", `HTTP ${httpStatus}`), `HTTP ${httpStatus}: ${snippet}`);
  }
  return { verdict: "bad-response", detail: `unexpected HTTP ${httpStatus}`, httpStatus, processId };
}

/** eRoamingAcknowledgement, leniently (FACTS.md §2.3, §6.10). Returns a problem description when unusable. */
function readAcknowledgement(json: unknown): Omit<Extract<RemoteCallOutcome, { kind: "answered" }>, "kind" | "processId"> | string {
  if (!isRecord(json)) return "acknowledgement is not a JSON object";
  const result = readBoolean(json.Result);
  const status = readStatusCode(json.StatusCode);
  if (result === null) return "acknowledgement without a Result";
  let effectiveStatus = status;
  if (!effectiveStatus) {
    if (!result) return "negative acknowledgement without a StatusCode";
    effectiveStatus = { code: "000", description: null, additionalInfo: "StatusCode missing in Hubject's answer" };
  }
  return {
    result,
    status: effectiveStatus,
    hubjectSessionId: readString(json.SessionID),
    cpoPartnerSessionId: readString(json.CPOPartnerSessionID),
    empPartnerSessionId: readString(json.EMPPartnerSessionID),
  };
}

/** StatusCode.Code stays a string; a number (or a digit string that lost its zeros) is padded to 3 digits. */
export function readStatusCode(value: unknown): OicpStatus | null {
  if (!isRecord(value)) return null;
  const raw = value.Code;
  let code: string;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) code = String(raw).padStart(3, "0");
  else if (typeof raw === "string" && raw.trim().length > 0) {
    const trimmed = raw.trim();
    code = /^\d{1,2}$/.test(trimmed) ? trimmed.padStart(3, "0") : trimmed;
  } else return null;
  return {
    code,
    description: readString(value.Description),
    additionalInfo: readString(value.AdditionalInfo),
  };
}

function errorForStatus(operation: OicpOperation, status: OicpStatus, httpStatus: number, processId: string | null): HubjectError {
  const message = `${operation}: Hubject answered StatusCode ${status.code}${status.description ? ` (${status.description})` : ""}`;
  const details = { status, httpStatus, processId };
  switch (status.code) {
    case "017":
    case "300":
      return new HubjectError("CONFIGURATION", message, details);
    case "018":
    case "019":
    case "022":
      return new HubjectError("INVALID_REQUEST", message, details);
    case "001":
    case "002":
    case "009":
    case "021":
    case "310":
    case "320":
      return new HubjectError("UNAVAILABLE", message, { ...details, retryable: true });
    default:
      return new HubjectError("BAD_RESPONSE", message, details);
  }
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

function describeValidationErrors(json: unknown): string | null {
  if (!isRecord(json)) return null;
  const body = json as HubjectValidationErrorBody;
  const errors = asArray(body.validationErrors)
    .filter(isRecord)
    .map((e) => `${readString(e.fieldReference) ?? "?"}: ${readString(e.errorMessage) ?? "invalid"}`);
  const message = readString(body.message);
  if (errors.length === 0) return message;
  return `${message ? `${message} ` : ""}${errors.join("; ")}`;
}

function toChargeDetailRecord(raw: unknown): OicpChargeDetailRecord | null {
  if (!isRecord(raw) || typeof raw.SessionID !== "string" || typeof raw.EvseID !== "string") return null;
  const record = { ...raw } as Record<string, unknown>;
  // The EMP OAS spells it HubProviderId (FACTS.md E5): read both, expose HubProviderID.
  if (record.HubProviderID == null && typeof record.HubProviderId === "string") record.HubProviderID = record.HubProviderId;
  delete record.HubProviderId;
  // Some CPOs put numbers in strings (FACTS.md §6.10).
  for (const key of ["ConsumedEnergy", "MeterValueStart", "MeterValueEnd"]) {
    const value = record[key];
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) record[key] = Number(value);
  }
  if (!isRecord(record.Identification)) record.Identification = {};
  return record as unknown as OicpChargeDetailRecord;
}

function toEvseStatus(value: unknown): OicpEvseStatus {
  return typeof value === "string" && (OICP_EVSE_STATUSES as readonly string[]).includes(value)
    ? (value as OicpEvseStatus)
    : "Unknown";
}

/** `YYYY-MM-DDThh:mm:ss+00:00`, the SPEC's format with an explicit offset (FACTS.md §4). */
export function toOicpDateTime(date: Date, rounding: "floor" | "ceil"): string {
  const ms = date.getTime();
  const rounded = rounding === "floor" ? Math.floor(ms / 1000) * 1000 : Math.ceil(ms / 1000) * 1000;
  return new Date(rounded).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

function synthesized(code: string, description: string, info: string): OicpStatus {
  // No OICP body came back: the code is the gateway's best fit, and says so.
  return { code, description, additionalInfo: `synthesized by the gateway: ${info}` };
}

function badResponse(message: string, processId: string | null, httpStatus: number | null = 200): HubjectError {
  return new HubjectError("BAD_RESPONSE", message, { processId, httpStatus });
}

function checkEvseId(evseId: string): string[] {
  return EVSE_ID.test(evseId) ? [] : ["EvseID does not match the OICP EvseID format"];
}

function checkPartnerSessionId(field: string, value: string): string[] {
  // The OAS writes `maximum: 250` for a string, which validators ignore (FACTS.md E3).
  return value.length > 0 && value.length <= PARTNER_SESSION_ID_MAX ? [] : [`${field} must be 1..${PARTNER_SESSION_ID_MAX} characters`];
}

function parseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new HubjectError("CONFIGURATION", `baseUrl "${baseUrl}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HubjectError("CONFIGURATION", `baseUrl must be http(s), got ${url.protocol}`);
  }
  return url.toString().replace(/\/+$/, "");
}

function readTlsFiles(tls: HubjectDatasourceOptions["tls"]): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  const read = (label: string, file: string | undefined): Buffer | undefined => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new HubjectError("CONFIGURATION", `cannot read TLS ${label} file ${file}`, { cause: error });
    }
  };
  const cert = read("certificate", tls?.certFile);
  const key = read("key", tls?.keyFile);
  const ca = read("CA", tls?.caFile);
  if ((cert === undefined) !== (key === undefined)) {
    throw new HubjectError("CONFIGURATION", "tls.certFile and tls.keyFile must be given together");
  }
  return { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}) };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new HubjectError("CONFIGURATION", `${name} must be a positive number, got ${value}`);
  return value;
}

function parseJson(text: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, "").trim();
  if (trimmed === "") return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.length > 0 ? first : null;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value == null ? [] : [value]);

const readString = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

function readBoolean(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return null;
}
