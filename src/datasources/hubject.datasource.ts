// The one client for Hubject's OICP 2.3 REST API (EMP side). Everything that knows the wire
// shape of the calls the gateway *sends* lives here; callers get domain-friendly results.
//
// Outcome rules (docs/oicp.md#status-codes, #lost-answer):
// * Remote start/stop are never retried. Anything that may have reached Hubject (timeout, a
//   connection lost after the request was written, 408/5xx, an unreadable 200) is "unknown":
//   the caller reconciles instead of re-sending.
// * "failed" is reserved for answers that prove nothing was executed.
// * The two safe pulls throw a HubjectError with a `retryable` flag, after `post()` has already
//   retried the transient failures with exponential backoff and jitter (AUP, docs/oicp.md#rate-limits, #status-codes).
// * One circuit breaker guards every call, remote ones included: while Hubject is down, calls
//   fail fast without touching the network (AUP: no calls just to see whether Hubject is up).
// * Configuration failures (TLS, 401/017, 403) are logged at error level once per kind.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { context, type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  ExponentialBackoff,
  halfJitterGenerator,
  handleWhenResult,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
  retry,
} from "cockatiel";
import got, { type Got, RequestError, TimeoutError } from "got";
import { createLogger, type Logger, redactEvcoId } from "../logger.js";
import { defaultTracer } from "../observability/tracing-context.js";
import { EVCO_ID, EVSE_ID, PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX, PROVIDER_ID, SESSION_ID, sameEvseId } from "../oicp/wire/identifiers.js";
import {
  type HubjectValidationErrorBody,
  OICP_EVSE_STATUSES,
  type OicpAuthorizeRemoteStart,
  type OicpAuthorizeRemoteStop,
  type OicpChargeDetailRecord,
  type OicpEvseStatus,
  type OicpGetChargeDetailRecords,
  type OicpPullEvseStatusById,
  oicpPaths,
} from "../oicp/wire/types.js";

// ---------------------------------------------------------------------------------------------
// Public types

/** One exchange with Hubject as metrics see it (one per attempt; circuit-open when nothing was sent). */
export interface HubjectExchangeObservation {
  operation: string;
  /** The HTTP status ("200", "503"), a transport failure ("timeout", "connection-lost", …) or "circuit-open". */
  outcome: string;
  oicpCode: string | null;
  seconds: number;
}

export interface HubjectDatasourceOptions {
  /** e.g. "https://service-qa.hubject.com/api/oicp" or the simulator's "http://127.0.0.1:PORT/api/oicp". */
  baseUrl: string;
  providerId: string;
  /** Called after every exchange (metrics). */
  observer?: (observation: HubjectExchangeObservation) => void;
  /** Mutual TLS to Hubject. The files are read once, at construction. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
  /** Remote start/stop. Default 90 s; must stay above the CPO's 60 s window (docs/oicp.md#cpo-window, #e18). */
  remoteTimeoutMs?: number;
  /** Every other call. Default 15 s. */
  requestTimeoutMs?: number;
  /** Keep-alive pool size per agent. Default DEFAULT_MAX_SOCKETS (256). */
  maxSockets?: number;
  /** Retries of the safe calls and the circuit breaker; defaults in DEFAULT_RESILIENCE. */
  resilience?: HubjectResilienceOptions;
  logger?: Logger;
  /** One client span "hubject <Operation>" per exchange. Default: the global API's (no-op unless tracing was started). */
  tracer?: Tracer;
}

export interface HubjectResilienceOptions {
  /** Extra attempts for the safe calls (PullEvseStatusByID, GetChargeDetailRecords). Default 3; 0 = no retries. */
  retryAttempts?: number;
  /** First backoff delay; it doubles per attempt, with jitter. Default 200 ms. */
  retryInitialDelayMs?: number;
  /** Upper bound of one backoff delay, Retry-After included. Default 5000 ms. */
  retryMaxDelayMs?: number;
  /** Consecutive calls showing Hubject unhealthy that open the circuit. Default 5. */
  breakerFailures?: number;
  /** How long the circuit stays open before one trial call may go through. Default 30 s. */
  breakerHalfOpenAfterMs?: number;
}

export const DEFAULT_RESILIENCE: Readonly<Required<HubjectResilienceOptions>> = {
  retryAttempts: 3,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 5_000,
  breakerFailures: 5,
  breakerHalfOpenAfterMs: 30_000,
};

/** "half-open" also while open once the delay has passed: the next call will be the trial. */
export type HubjectCircuitState = "closed" | "open" | "half-open";

export type HubjectConfigurationProblemKind = "tls" | "unauthorized" | "forbidden";

export interface HubjectConfigurationProblem {
  kind: HubjectConfigurationProblemKind;
  /** Names the setting to check. */
  message: string;
  /** First occurrence since the last successful call. */
  since: Date;
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
  /** The request may have reached Hubject/the CPO: timeout, connection lost after sending, 408/5xx, unparseable 200 body. Never retried (docs/oicp.md#lost-answer). */
  | {
      kind: "unknown";
      reason: "timeout" | "connection-lost" | "upstream-error" | "bad-response";
      detail: string;
      processId: string | null;
    }
  /** Certainly not executed: could not connect, 401/017, 403 firewall, 400 validation, 429 rate limit, 404, circuit open (not sent at all). */
  | {
      kind: "failed";
      reason: "unreachable" | "unauthorized" | "forbidden" | "invalid-request" | "rate-limited" | "not-found" | "circuit-open";
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
  /** True when nothing was sent because the circuit breaker is open (kind UNAVAILABLE). */
  readonly circuitOpen: boolean;

  constructor(
    kind: HubjectErrorKind,
    message: string,
    details: {
      status?: OicpStatus | null;
      httpStatus?: number | null;
      processId?: string | null;
      retryable?: boolean;
      circuitOpen?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.status = details.status ?? null;
    this.httpStatus = details.httpStatus ?? null;
    this.processId = details.processId ?? null;
    this.retryable = details.retryable ?? false;
    this.circuitOpen = details.circuitOpen ?? false;
  }
}

export const DEFAULT_REMOTE_TIMEOUT_MS = 90_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/**
 * Each remote start/stop holds its socket until the CPO answers (up to the 60 s window), and the
 * EMP may have 100 starts a minute in flight (docs/oicp.md#rate-limits): a pool below that queues starts behind
 * whole upstream round trips (bench/RESULTS.md, start storm). 256 leaves room for stops, status
 * and CDR calls. Config: HUBJECT_MAX_SOCKETS.
 */
export const DEFAULT_MAX_SOCKETS = 256;
/** Hubject gives the CPO 60 s to answer a remote start/stop (docs/oicp.md#cpo-window, #e18). */
export const CPO_REMOTE_WINDOW_MS = 60_000;
/** PullEvseStatusByID takes at most 100 EvseIDs (docs/oicp.md#evse-status). */
export const MAX_EVSE_IDS_PER_STATUS_PULL = 100;
/** GetChargeDetailRecords pages hold at most 2000 records (docs/oicp.md#emp-operations). */
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
// Internal transport types (post() wraps every exchange with the circuit breaker, safe ones with retries)

type OicpOperation = "AuthorizeRemoteStart" | "AuthorizeRemoteStop" | "PullEvseStatusById" | "GetChargeDetailRecords";

interface PostRequest {
  operation: OicpOperation;
  path: string;
  body: unknown;
  timeoutMs: number;
  /** Safe to repeat (pulls): only these are retried. Remote start/stop never are (docs/oicp.md#lost-answer). */
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
    }
  /** The circuit breaker is open: nothing was sent. */
  | { type: "circuit-open"; detail: string };

/** One call as the circuit breaker sees it: a safe call's last attempt, after its retries. */
interface CallResult {
  operation: OicpOperation;
  exchange: Exchange;
}

/** One attempt of a safe call as the retry policy sees it. */
interface Attempt extends CallResult {
  /** 1 for the first request. */
  number: number;
  /** Why repeating may help (null: do not retry). */
  transient: string | null;
  /** From Retry-After on a 429 or 503, already capped at retryMaxDelayMs. */
  retryAfterMs: number | null;
}

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
const isTlsErrorCode = (code: string): boolean => TLS_ERROR_CODES.has(code) || /^ERR_(TLS|SSL|OSSL)_/.test(code);
/** Transport "errors" made by the gateway itself (closed datasource, bad got option): they say nothing about Hubject. */
const LOCAL_FAILURE_CODES = new Set(["ERR_CLOSED", "ERR_UNKNOWN"]);
/** Transient OICP codes in a 200 body that are worth repeating with backoff (docs/oicp.md#status-codes). */
const TRANSIENT_BODY_CODES = new Set(["001", "002", "021", "320"]);
/** 009 "Data transaction error": retry once, then give up and alert (docs/oicp.md#status-codes). */
const RETRY_ONCE_BODY_CODE = "009";

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
  private readonly observer: ((observation: HubjectExchangeObservation) => void) | undefined;
  private readonly tracer: Tracer;
  /** The spans' server.address, server.port and url.full prefix. */
  private readonly spanTarget: { address: string; port: number; base: string };
  private closed = false;
  /** Effective retry and breaker settings. */
  readonly resilience: Readonly<Required<HubjectResilienceOptions>>;
  private readonly retryPolicy: RetryPolicy;
  /** One breaker for the whole datasource: HBS is one service behind one front door. */
  private readonly breaker: CircuitBreakerPolicy;
  private openedAt: number | null = null;
  private readonly configurationProblems = new Map<HubjectConfigurationProblemKind, { message: string; since: Date; at: number }>();

  constructor(options: HubjectDatasourceOptions, testOverrides?: HubjectDatasourceTestOverrides) {
    const url = parseBaseUrl(options.baseUrl);
    if (!PROVIDER_ID.test(options.providerId)) {
      throw new HubjectError("CONFIGURATION", `providerId "${options.providerId}" is not an OICP ProviderID`);
    }
    this.providerId = options.providerId;
    this.observer = options.observer;
    this.tracer = options.tracer ?? defaultTracer();
    const parsedUrl = new URL(url);
    this.spanTarget = {
      address: parsedUrl.hostname,
      port: Number(parsedUrl.port) || (parsedUrl.protocol === "https:" ? 443 : 80),
      base: url.replace(/\/+$/, ""),
    };

    this.remoteTimeoutMs = positive("remoteTimeoutMs", options.remoteTimeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS);
    if (this.remoteTimeoutMs <= CPO_REMOTE_WINDOW_MS && testOverrides?.allowShortRemoteTimeout !== true) {
      // A shorter client timeout loses the SessionID of sessions that do start (docs/oicp.md#cpo-window, #e18).
      throw new HubjectError(
        "CONFIGURATION",
        `remoteTimeoutMs must be greater than ${CPO_REMOTE_WINDOW_MS} (the CPO's answer window), got ${this.remoteTimeoutMs}`,
      );
    }
    this.requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const maxSockets = positive("maxSockets", options.maxSockets ?? DEFAULT_MAX_SOCKETS);

    this.log = (options.logger ?? createLogger()).child({ component: "hubject-datasource" });
    this.resilience = resilienceOptions(options.resilience);
    this.retryPolicy = this.createRetryPolicy();
    this.breaker = this.createBreaker();

    const tls = readTlsFiles(options.tls);
    const pool = { keepAlive: true, maxSockets, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.httpAgent = new http.Agent(pool);
    // Agent options are merged into every tls.connect(), so the client certificate applies to all calls.
    this.httpsAgent = new https.Agent({ ...pool, ...tls });

    this.client = got.extend({
      prefixUrl: url,
      agent: { http: this.httpAgent, https: this.httpsAgent },
      http2: false,
      // Every outcome is mapped below; remote start/stop must never be re-sent (docs/oicp.md#lost-answer).
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

  /** Remote start (docs/oicp.md#remote-start): no SessionID, Identification is only RemoteIdentification. */
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

  /** Remote stop (docs/oicp.md#remote-stop). The path carries the ProviderID, not the OAS's `{externalID}` (E1). */
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
      this.log.warn(
        { operation: "PullEvseStatusById", skipped: distinct.filter((id) => !EVSE_ID.test(id)) },
        "not sending malformed EvseIDs",
      );
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

  /** One page of GetChargeDetailRecords (docs/oicp.md#get-cdrs); the caller pages. */
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
      // CDRForwarded, not the OAS's misspelt CDRForwarder (docs/oicp.md#e6).
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

  /**
   * Every CDR of [from, to], page by page (for a back-fill job). Each page comes from
   * getChargeDetailRecords, so it is retried like any safe call; a page that still fails ends
   * the iteration with its HubjectError (the pages already yielded stay valid). Empty pages are
   * not yielded. Hubject does not track what was downloaded and CDRs arriving meanwhile can shift
   * the pages: de-duplicate by SessionID (docs/oicp.md#get-cdrs).
   */
  async *chargeDetailRecordPages(req: {
    from: Date;
    to: Date;
    cdrForwarded?: boolean;
    sessionIds?: string[];
    pageSize?: number;
  }): AsyncGenerator<OicpChargeDetailRecord[], void, undefined> {
    for (let page = 0; ; page++) {
      const result = await this.getChargeDetailRecords({
        from: req.from,
        to: req.to,
        ...(req.cdrForwarded !== undefined ? { cdrForwarded: req.cdrForwarded } : {}),
        ...(req.sessionIds !== undefined ? { sessionIds: req.sessionIds } : {}),
        size: req.pageSize ?? DEFAULT_CDR_PAGE_SIZE,
        page,
      });
      if (result.records.length > 0) yield result.records;
      if (result.last) return;
      if (result.records.length === 0) {
        // A page in the middle cannot be empty; stop rather than page on forever.
        this.log.warn(
          { operation: "GetChargeDetailRecords", page, totalPages: result.totalPages },
          "empty CDR page that is not the last: stopping",
        );
        return;
      }
    }
  }

  /** For a readiness endpoint: it never calls Hubject (the AUP forbids calls just to see whether Hubject is up). */
  circuitState(): HubjectCircuitState {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return "closed";
      case CircuitState.HalfOpen:
        return "half-open";
      default:
        // cockatiel stays "Open" until the next call after the delay; report what that call will be.
        return this.openedAt !== null && Date.now() - this.openedAt >= this.resilience.breakerHalfOpenAfterMs ? "half-open" : "open";
    }
  }

  /** The configuration failure seen since the last successful call (latest kind), or null. */
  configurationProblem(): HubjectConfigurationProblem | null {
    let latest: HubjectConfigurationProblem | null = null;
    let latestAt = -Infinity;
    for (const [kind, problem] of this.configurationProblems) {
      if (problem.at >= latestAt) {
        latestAt = problem.at;
        latest = { kind, message: problem.message, since: problem.since };
      }
    }
    return latest;
  }

  /** Destroys the keep-alive agents; later calls fail as unreachable. */
  close(): void {
    this.closed = true;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // The seam: every request goes through here.
  //
  //   breaker( retry( send ) )   for the safe calls (idempotent: true)
  //   breaker( send )            for remote start/stop: one request, always (docs/oicp.md#lost-answer)

  private async post(request: PostRequest): Promise<Exchange> {
    if (this.closed) return closedExchange();
    try {
      // The breaker sits outside the retries, so one safe call is ONE breaker outcome however
      // many attempts it took: the threshold then counts calls, the unit callers and operators
      // think in, and does not depend on retryAttempts (with the breaker inside, a single call
      // exhausting 3 extra attempts would count 4 failures and could trip a threshold of 5 on
      // its own; one success among the retries would also hide the failures before it).
      const result = await this.breaker.execute(() => (request.idempotent ? this.sendWithRetries(request) : this.sendOnce(request)));
      return result.exchange;
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) throw error;
      const detail = `circuit breaker open after ${this.resilience.breakerFailures} consecutive failed calls to Hubject; the request was not sent`;
      this.log.debug({ operation: request.operation }, "circuit open: call not sent");
      this.observer?.({ operation: request.operation, outcome: "circuit-open", oicpCode: null, seconds: 0 });
      const span = this.startExchangeSpan(request);
      span.setAttribute("hubject.circuit_open", true);
      span.setAttribute("error.type", "circuit-open");
      span.setStatus({ code: SpanStatusCode.ERROR, message: detail });
      span.end();
      return { type: "circuit-open", detail };
    }
  }

  private async sendOnce(request: PostRequest): Promise<CallResult> {
    return { operation: request.operation, exchange: await this.send(request) };
  }

  /** Only for idempotent requests: retries the transient failures (docs/oicp.md#status-codes) with backoff. */
  private async sendWithRetries(request: PostRequest): Promise<CallResult> {
    if (!request.idempotent) throw new Error(`${request.operation} must never be retried`);
    let previous: Attempt | null = null;
    let dataTransactionErrors = 0;
    return this.retryPolicy.execute(async ({ attempt }): Promise<Attempt> => {
      if (previous !== null && this.breaker.state !== CircuitState.Closed) {
        // Stop retrying once the circuit is no longer closed: other calls opened it meanwhile,
        // or this call is the half-open trial, which is one request. Returning the previous
        // attempt as final (not transient) ends the retry loop without a request.
        return { ...previous, transient: null };
      }
      const exchange = await this.send(request);
      const transient = transientFailureOf(exchange);
      let reason = transient?.reason ?? null;
      if (transient?.onlyOnce && ++dataTransactionErrors > 1) reason = null;
      previous = {
        operation: request.operation,
        exchange,
        number: attempt + 1,
        transient: reason,
        // Retry-After belongs to 429 (AUP) and, by HTTP semantics, 503.
        retryAfterMs:
          exchange.type === "response" && (exchange.httpStatus === 429 || exchange.httpStatus === 503)
            ? this.retryAfterMs(exchange.retryAfter)
            : null,
      };
      if (transient && reason === null) {
        this.log.warn(
          { operation: request.operation, attempts: attempt + 1, cause: transient.reason },
          "hubject call failed again: not retrying",
        );
      } else if (reason !== null && attempt >= this.resilience.retryAttempts) {
        this.log.warn({ operation: request.operation, attempts: attempt + 1, cause: reason }, "hubject call still failing: giving up");
      }
      return previous;
    });
  }

  /** Retry-After in seconds (or an HTTP date), capped at retryMaxDelayMs; null when absent or unreadable. */
  private retryAfterMs(value: string | null): number | null {
    if (value === null) return null;
    const trimmed = value.trim();
    let ms: number;
    if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
    else {
      const date = Date.parse(trimmed);
      if (Number.isNaN(date)) return null;
      ms = date - Date.now();
    }
    return Math.min(Math.max(ms, 0), this.resilience.retryMaxDelayMs);
  }

  private createRetryPolicy(): RetryPolicy {
    const { retryAttempts, retryInitialDelayMs, retryMaxDelayMs } = this.resilience;
    // Exponential with "half jitter": each delay is random in [d/2, d), d = initial * 2^n, capped.
    // The floor keeps some distance even on the first retry (429s), the jitter de-synchronises callers.
    const exponential: IBackoffFactory<unknown> = new ExponentialBackoff({
      generator: halfJitterGenerator,
      initialDelay: retryInitialDelayMs,
      maxDelay: retryMaxDelayMs,
    });
    // Hubject's Retry-After (429/503) replaces the computed delay (it is capped already); the
    // exponential state still advances. DelegateBackoff is cockatiel's hook for exactly this.
    const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown>>((context, state) => {
      const next = state ? state.next(context) : exponential.next(context);
      const hinted = "value" in context.result ? (context.result.value as Attempt).retryAfterMs : null;
      return { delay: hinted ?? next.duration, state: next };
    });
    const policy = retry(
      handleWhenResult((result) => (result as Attempt).transient !== null),
      { maxAttempts: retryAttempts, backoff },
    );
    policy.onRetry((event) => {
      if (!("value" in event)) return;
      const attempt = event.value as Attempt;
      this.log.info(
        {
          operation: attempt.operation,
          attempt: attempt.number,
          cause: attempt.transient,
          delayMs: Math.round(event.delay),
          processId: processIdOf(attempt.exchange),
        },
        "hubject call failed transiently: retrying",
      );
    });
    return policy;
  }

  private createBreaker(): CircuitBreakerPolicy {
    const { breakerFailures, breakerHalfOpenAfterMs } = this.resilience;
    // Only answers that show Hubject itself unhealthy count; any other answer (business codes,
    // 4xx, 429, even 017) proves Hubject is up and resets the consecutive count. The function
    // never throws, so cockatiel's "unhandled error closes a half-open circuit" path is unused.
    const breaker = circuitBreaker(
      handleWhenResult((result) => showsHubjectUnhealthy((result as CallResult).exchange)),
      { halfOpenAfter: breakerHalfOpenAfterMs, breaker: new ConsecutiveBreaker(breakerFailures) },
    );
    breaker.onBreak((reason) => {
      const trial = this.openedAt !== null;
      this.openedAt = Date.now();
      const cause = "value" in reason ? (reason.value as CallResult) : null;
      this.log.warn(
        {
          circuit: "open",
          operation: cause?.operation,
          cause: cause ? describeExchange(cause.exchange) : "isolated",
          processId: cause ? processIdOf(cause.exchange) : null,
          consecutiveFailures: trial ? undefined : breakerFailures,
          retryInMs: breakerHalfOpenAfterMs,
        },
        trial
          ? "Hubject circuit re-opened: the trial call failed"
          : `Hubject circuit opened after ${breakerFailures} consecutive failed calls: calls fail fast for ${breakerHalfOpenAfterMs} ms`,
      );
    });
    breaker.onHalfOpen(() => this.log.info({ circuit: "half-open" }, "Hubject circuit half-open: letting one trial call through"));
    breaker.onReset(() => {
      this.openedAt = null;
      this.log.info({ circuit: "closed" }, "Hubject circuit closed: calls go through again");
    });
    return breaker;
  }

  /** The single place a request hits the network: one client span per exchange. */
  private async send(request: PostRequest): Promise<Exchange> {
    if (this.closed) return closedExchange();
    const span = this.startExchangeSpan(request);
    try {
      const exchange = await this.exchange(request);
      annotateExchangeSpan(span, exchange);
      return exchange;
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  /** "hubject <Operation>", a child of the active span (the GraphQL request, a job, …). */
  private startExchangeSpan(request: PostRequest): Span {
    return this.tracer.startSpan(
      `hubject ${request.operation}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "oicp.operation": request.operation,
          "http.request.method": "POST",
          "server.address": this.spanTarget.address,
          "server.port": this.spanTarget.port,
          "url.full": `${this.spanTarget.base}/${request.path}`,
        },
      },
      context.active(),
    );
  }

  private async exchange(request: PostRequest): Promise<Exchange> {
    const started = Date.now();
    let exchange: Exchange;
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
      exchange = {
        type: "response",
        httpStatus: response.statusCode,
        text: response.body,
        json: parseJson(response.body),
        processId,
        retryAfter: headerValue(response.headers["retry-after"]),
      };
    } catch (error) {
      exchange = classifyTransportError(error);
      this.log.debug(
        { operation: request.operation, failure: exchange.failure, code: exchange.code, durationMs: Date.now() - started },
        "hubject call failed",
      );
    }
    this.trackConfiguration(request.operation, exchange);
    this.observer?.({
      operation: request.operation,
      outcome:
        exchange.type === "response"
          ? String(exchange.httpStatus)
          : exchange.type === "transport-error"
            ? exchange.failure
            : "circuit-open",
      oicpCode: exchange.type === "response" ? oicpCodeOf(exchange.json) : null,
      seconds: (Date.now() - started) / 1000,
    });
    return exchange;
  }

  /**
   * Configuration failures are logged at error level once per kind, naming what to check; the
   * same kind again is logged at debug until a call succeeds (a 2xx JSON answer without 017).
   */
  private trackConfiguration(operation: OicpOperation, exchange: Exchange): void {
    const kind = configurationProblemOf(exchange);
    if (kind === null) {
      if (exchange.type === "response" && exchange.httpStatus >= 200 && exchange.httpStatus < 300 && exchange.json !== undefined) {
        if (this.configurationProblems.size > 0) {
          this.log.info(
            { operation, resolved: [...this.configurationProblems.keys()] },
            "Hubject accepts the gateway's calls again: configuration problem cleared",
          );
          this.configurationProblems.clear();
        }
      }
      return;
    }
    const processId = processIdOf(exchange);
    const message = this.configurationMessage(kind, exchange);
    const fields = {
      operation,
      configurationProblem: kind,
      processId,
      httpStatus: exchange.type === "response" ? exchange.httpStatus : null,
      code: exchange.type === "transport-error" ? exchange.code : undefined,
    };
    const known = this.configurationProblems.get(kind);
    if (known) {
      known.at = Date.now();
      known.message = message;
      this.log.debug(fields, message);
      return;
    }
    this.configurationProblems.set(kind, { message, since: new Date(), at: Date.now() });
    this.log.error(fields, message);
  }

  private configurationMessage(kind: HubjectConfigurationProblemKind, exchange: Exchange): string {
    switch (kind) {
      case "tls":
        return (
          `TLS handshake with Hubject failed (${exchange.type === "transport-error" ? exchange.code : "TLS"}): check HUBJECT_CLIENT_CERT / HUBJECT_CLIENT_KEY ` +
          "(the client certificate Hubject issued, not expired, matching key) and HUBJECT_CA (the CA of Hubject's server certificate)"
        );
      case "unauthorized":
        return (
          `Hubject refused the gateway's identity (StatusCode 017 Unauthorized Access${exchange.type === "response" ? `, HTTP ${exchange.httpStatus}` : ""}): ` +
          `check HUBJECT_PROVIDER_ID ("${this.providerId}" must be exactly the registered ProviderID) and that the client certificate (HUBJECT_CLIENT_CERT) was issued for it and has not expired`
        );
      case "forbidden":
        return "HTTP 403 from Hubject's firewall: the gateway's egress IP is not on Hubject's IP allow-list (ask Hubject to allow-list the static egress IPs)";
    }
  }

  // -------------------------------------------------------------------------------------------
  // Mapping

  private toRemoteOutcome(exchange: Exchange, logFields: Record<string, unknown>): RemoteCallOutcome {
    const outcome = remoteOutcomeOf(exchange);
    const fields = { ...logFields, kind: outcome.kind, processId: outcome.processId };
    if (outcome.kind === "answered") {
      this.log.info(
        { ...fields, result: outcome.result, code: outcome.status.code, hubjectSessionId: outcome.hubjectSessionId },
        "remote call answered",
      );
    } else if (exchange.type === "circuit-open" || configurationProblemOf(exchange) !== null) {
      // Already reported once (circuit opened / configuration problem at error level): stay below warn per call.
      this.log.info({ ...fields, reason: outcome.reason, detail: outcome.detail }, "remote call not answered");
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
    if (exchange.type === "circuit-open") {
      throw new HubjectError("UNAVAILABLE", `${operation}: ${exchange.detail}`, { retryable: true, circuitOpen: true });
    }
    // Configuration problems were logged at error level once already (trackConfiguration).
    const level = configurationProblemOf(exchange) === null ? "warn" : "debug";
    if (exchange.type === "transport-error") {
      const tls = exchange.failure === "tls";
      const error = new HubjectError(tls ? "CONFIGURATION" : "UNAVAILABLE", `${operation}: ${exchange.detail}`, {
        retryable: !tls && !LOCAL_FAILURE_CODES.has(exchange.code),
      });
      this.log[level]({ operation, failure: exchange.failure, code: exchange.code }, "hubject call failed");
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
        this.log[level]({ operation, reason: verdict.reason, httpStatus, processId }, "hubject rejected the call");
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
// Pure helpers

function remoteOutcomeOf(exchange: Exchange): RemoteCallOutcome {
  if (exchange.type === "circuit-open") {
    return {
      kind: "failed",
      reason: "circuit-open",
      status: synthesized("320", "Service not available", exchange.detail),
      httpStatus: null,
      detail: exchange.detail,
      processId: null,
    };
  }
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

/** Why repeating the same safe request may succeed (docs/oicp.md#status-codes), or null when it must not be repeated. */
function transientFailureOf(exchange: Exchange): { reason: string; onlyOnce: boolean } | null {
  if (exchange.type === "circuit-open") return null;
  if (exchange.type === "transport-error") {
    // TLS failures are configuration; local failures are the gateway's own.
    if (exchange.failure === "tls" || LOCAL_FAILURE_CODES.has(exchange.code)) return null;
    const reason = exchange.failure === "unreachable" ? "could not connect" : exchange.failure;
    return { reason: `${reason} (${exchange.code})`, onlyOnce: false };
  }
  const { httpStatus } = exchange;
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return { reason: `HTTP ${httpStatus}`, onlyOnce: false };
  if (httpStatus >= 200 && httpStatus < 300 && isRecord(exchange.json)) {
    const code = readStatusCode(exchange.json.StatusCode)?.code;
    if (code !== undefined && TRANSIENT_BODY_CODES.has(code)) return { reason: `StatusCode ${code}`, onlyOnce: false };
    if (code === RETRY_ONCE_BODY_CODE) return { reason: `StatusCode ${code}`, onlyOnce: true };
  }
  return null;
}

/**
 * What counts against the circuit breaker: could not connect, connection lost, timeout, 408, 5xx,
 * for every operation. Not TLS (configuration), not 4xx/429, not OICP codes in an answer: Hubject answered.
 */
function showsHubjectUnhealthy(exchange: Exchange): boolean {
  if (exchange.type === "circuit-open") return false;
  if (exchange.type === "transport-error") return exchange.failure !== "tls" && !LOCAL_FAILURE_CODES.has(exchange.code);
  return exchange.httpStatus === 408 || exchange.httpStatus >= 500;
}

/**
 * The outcome on the exchange's span: HTTP status, OICP StatusCode, Hubject's Process-ID; an ERROR
 * status for a transport failure, HTTP >= 400, a 2xx body that is not JSON, or a StatusCode other than 000.
 */
function annotateExchangeSpan(span: Span, exchange: Exchange): void {
  if (!span.isRecording() || exchange.type === "circuit-open") return;
  if (exchange.type === "transport-error") {
    span.setAttribute("error.type", exchange.code);
    span.setAttribute("hubject.failure", exchange.failure);
    span.recordException({ name: exchange.code, message: exchange.detail });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${exchange.failure}: ${exchange.detail}` });
    return;
  }
  span.setAttribute("http.response.status_code", exchange.httpStatus);
  if (exchange.processId) span.setAttribute("hubject.process_id", exchange.processId);
  const code = oicpCodeOf(exchange.json);
  if (code !== null) span.setAttribute("oicp.status_code", code);
  if (exchange.httpStatus >= 400) {
    span.setAttribute("error.type", String(exchange.httpStatus));
    span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${exchange.httpStatus}${code ? ` (StatusCode ${code})` : ""}` });
  } else if (exchange.json === undefined) {
    span.setAttribute("error.type", "bad-response");
    span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${exchange.httpStatus} with a body that is not JSON` });
  } else if (code !== null && code !== "000") {
    span.setAttribute("error.type", `oicp-${code}`);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `StatusCode ${code}` });
  }
}

/** TLS, 401 or StatusCode 017 in any answer, 403 (docs/oicp.md#transport, #status-codes). */
function configurationProblemOf(exchange: Exchange): HubjectConfigurationProblemKind | null {
  if (exchange.type === "circuit-open") return null;
  if (exchange.type === "transport-error") return exchange.failure === "tls" ? "tls" : null;
  if (exchange.httpStatus === 401) return "unauthorized";
  if (exchange.httpStatus === 403) return "forbidden";
  if (isRecord(exchange.json) && readStatusCode(exchange.json.StatusCode)?.code === "017") return "unauthorized";
  return null;
}

function describeExchange(exchange: Exchange): string {
  switch (exchange.type) {
    case "circuit-open":
      return "circuit open";
    case "transport-error":
      return `${exchange.failure}: ${exchange.detail}`;
    case "response":
      return `HTTP ${exchange.httpStatus}`;
  }
}

function processIdOf(exchange: Exchange): string | null {
  return exchange.type === "response" ? exchange.processId : null;
}

function closedExchange(): Exchange {
  return { type: "transport-error", failure: "unreachable", code: "ERR_CLOSED", detail: "the Hubject datasource is closed" };
}

function resilienceOptions(options: HubjectResilienceOptions | undefined): Readonly<Required<HubjectResilienceOptions>> {
  const merged = { ...DEFAULT_RESILIENCE, ...stripUndefined(options ?? {}) };
  if (!Number.isInteger(merged.retryAttempts) || merged.retryAttempts < 0) {
    throw new HubjectError("CONFIGURATION", `resilience.retryAttempts must be an integer >= 0, got ${merged.retryAttempts}`);
  }
  if (!Number.isInteger(merged.breakerFailures) || merged.breakerFailures < 1) {
    throw new HubjectError("CONFIGURATION", `resilience.breakerFailures must be an integer >= 1, got ${merged.breakerFailures}`);
  }
  positive("resilience.retryInitialDelayMs", merged.retryInitialDelayMs);
  positive("resilience.retryMaxDelayMs", merged.retryMaxDelayMs);
  positive("resilience.breakerHalfOpenAfterMs", merged.breakerHalfOpenAfterMs);
  if (merged.retryMaxDelayMs < merged.retryInitialDelayMs) {
    throw new HubjectError("CONFIGURATION", "resilience.retryMaxDelayMs must be >= resilience.retryInitialDelayMs");
  }
  return Object.freeze(merged);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** HTTP-level classification shared by all operations (docs/oicp.md#http-errors). */
function httpVerdictOf(exchange: Extract<Exchange, { type: "response" }>): HttpVerdict {
  const { httpStatus, json, processId } = exchange;
  const bodyStatus = isRecord(json) ? readStatusCode(json.StatusCode) : null;
  const snippet = exchange.text.length > 200 ? `${exchange.text.slice(0, 200)}…` : exchange.text;

  if (httpStatus >= 200 && httpStatus < 300) {
    if (json === undefined)
      return { verdict: "bad-response", detail: `HTTP ${httpStatus} with a body that is not JSON: ${snippet}`, httpStatus, processId };
    return { verdict: "ok", json, httpStatus, processId };
  }
  if (httpStatus === 408 || httpStatus >= 500) {
    const codeInfo = bodyStatus ? ` (StatusCode ${bodyStatus.code})` : "";
    return { verdict: "upstream-error", detail: `HTTP ${httpStatus}${codeInfo}`, status: bodyStatus, httpStatus, processId };
  }
  const rejected = (reason: Extract<HttpVerdict, { verdict: "rejected" }>["reason"], status: OicpStatus, detail: string): HttpVerdict => ({
    verdict: "rejected",
    reason,
    status,
    detail,
    httpStatus,
    processId,
  });

  switch (httpStatus) {
    case 400: {
      const detail = describeValidationErrors(json) ?? `HTTP 400: ${snippet}`;
      return rejected("invalid-request", bodyStatus ?? synthesized("022", "Data error", detail), detail);
    }
    case 401:
      // Certificate does not match the ProviderID, or it expired (docs/oicp.md#transport).
      return rejected(
        "unauthorized",
        bodyStatus ?? synthesized("017", "Unauthorized Access", "HTTP 401 without an OICP body"),
        `HTTP 401: ${bodyStatus?.description ?? "Unauthorized Access"} (${bodyStatus?.code ?? "017"})`,
      );
    case 403:
      // An HTML page from Hubject's firewall: the egress IP is not allow-listed (docs/oicp.md#transport).
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
      // Rate limits per operation: docs/oicp.md#rate-limits (AUP).
      return rejected(
        "rate-limited",
        bodyStatus ?? synthesized("320", "Rate limited", "HTTP 429 Too Many Requests"),
        `HTTP 429 Too Many Requests${exchange.retryAfter ? `, Retry-After ${exchange.retryAfter}` : ""}`,
      );
  }
  if (httpStatus >= 300 && httpStatus < 400) {
    // Redirects are not followed: a POST must not silently change target. Wrong base URL?
    return rejected(
      "not-found",
      bodyStatus ?? synthesized("300", "Not found", `HTTP ${httpStatus} redirect`),
      `HTTP ${httpStatus} redirect (check the base URL)`,
    );
  }
  if (httpStatus >= 400) {
    return rejected(
      "invalid-request",
      bodyStatus ?? synthesized("022", "Data error", `HTTP ${httpStatus}`),
      `HTTP ${httpStatus}: ${snippet}`,
    );
  }
  return { verdict: "bad-response", detail: `unexpected HTTP ${httpStatus}`, httpStatus, processId };
}

/** eRoamingAcknowledgement, leniently (docs/oicp.md#acknowledgement, #lenient-reading). Returns a problem description when unusable. */
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
  // The EMP OAS spells it HubProviderId (docs/oicp.md#e5): read both, expose HubProviderID.
  if (record.HubProviderID == null && typeof record.HubProviderId === "string") record.HubProviderID = record.HubProviderId;
  delete record.HubProviderId;
  // Some CPOs put numbers in strings (docs/oicp.md#lenient-reading).
  for (const key of ["ConsumedEnergy", "MeterValueStart", "MeterValueEnd"]) {
    const value = record[key];
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) record[key] = Number(value);
  }
  if (!isRecord(record.Identification)) record.Identification = {};
  return record as unknown as OicpChargeDetailRecord;
}

function toEvseStatus(value: unknown): OicpEvseStatus {
  return typeof value === "string" && (OICP_EVSE_STATUSES as readonly string[]).includes(value) ? (value as OicpEvseStatus) : "Unknown";
}

/** `YYYY-MM-DDThh:mm:ss+00:00`, the SPEC's format with an explicit offset (docs/oicp.md#datetime). */
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
  // The OAS writes `maximum: 250` for a string, which validators ignore (docs/oicp.md#e3).
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

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value == null ? [] : [value]);

const readString = (value: unknown): string | null => (typeof value === "string" && value.length > 0 ? value : null);

function readBoolean(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return null;
}

/** StatusCode.Code of an OICP body, if it has one (for metrics). */
function oicpCodeOf(json: unknown): string | null {
  if (!json || typeof json !== "object") return null;
  const status = (json as { StatusCode?: { Code?: unknown } }).StatusCode;
  const code = status?.Code;
  return typeof code === "string" ? code : typeof code === "number" ? String(code).padStart(3, "0") : null;
}
