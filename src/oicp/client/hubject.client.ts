// The client for Hubject's OICP 2.3 REST API (EMP side). Every request goes through post():
//
//   breaker( retry( send ) )   for the safe calls (idempotent: true)
//   breaker( send )            for remote start/stop: one request, always (docs/oicp.md#lost-answer)
//
// Each exchange is read once (answer.ts) and that reading feeds the retries, the breaker, the
// configuration alarm, the span and the metrics. The operations (operations/*.ts) build the
// requests and read the answers; the Hubject datasource is the facade the gateway uses.
import type { Tracer } from "@opentelemetry/api";
import { BrokenCircuitError, CircuitState, type RetryPolicy } from "cockatiel";
import { CPO_REMOTE_WINDOW_MS, DEFAULTS } from "../../config/defaults.js";
import { createLogger, type Logger } from "../../logger.js";
import { defaultTracer } from "../../observability/tracing-context.js";
import { PROVIDER_ID } from "../wire/identifiers.js";
import { type Answer, LOCAL_FAILURE_CODES, type OicpOperation, type PostRequest, readAnswer } from "./answer.js";
import { ConfigurationWatch, type HubjectConfigurationProblem } from "./configuration-watch.js";
import { configurationError, HubjectError } from "./errors.js";
import {
  type Attempt,
  type Breaker,
  createBreaker,
  createRetryPolicy,
  type HubjectCircuitState,
  type HubjectResilienceOptions,
  resilienceOptions,
} from "./resilience.js";
import { annotateExchangeSpan, startExchangeSpan } from "./spans.js";
import { closedExchange, HttpTransport } from "./transport.js";

/** One exchange with Hubject as metrics see it (one per attempt; circuit-open when nothing was sent). */
export interface HubjectExchangeObservation {
  operation: string;
  /** The HTTP status ("200", "503"), a transport failure ("timeout", "connection-lost", …), "circuit-open" or "held" (Retry-After). */
  outcome: string;
  oicpCode: string | null;
  seconds: number;
}

export interface HubjectClientOptions {
  /** e.g. "https://service-qa.hubject.com/api/oicp" or the simulator's "http://127.0.0.1:PORT/api/oicp". */
  baseUrl: string;
  providerId: string;
  /** Called after every exchange (metrics). */
  observer?: (observation: HubjectExchangeObservation) => void;
  /** Mutual TLS to Hubject. The files are read once, at construction. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string };
  /** Remote start/stop; must stay above the CPO's 60 s window (docs/oicp.md#cpo-window, #e18). */
  remoteTimeoutMs?: number;
  /** Every other call. */
  requestTimeoutMs?: number;
  /** Keep-alive pool size per agent (HUBJECT_MAX_SOCKETS). */
  maxSockets?: number;
  /** Retries of the safe calls and the circuit breaker. */
  resilience?: HubjectResilienceOptions;
  logger?: Logger;
  /** One client span "hubject <Operation>" per exchange. Default: the global API's (no-op unless tracing was started). */
  tracer?: Tracer;
}

/**
 * Test-only switches, deliberately a separate constructor argument: configuration code builds
 * the options from the environment and never passes this, so no setting can lower the remote
 * timeout below the CPO window in production.
 */
export interface HubjectClientTestOverrides {
  /** Accept `remoteTimeoutMs <= 60_000` so a test can provoke a timeout in milliseconds. */
  allowShortRemoteTimeout: true;
}

export class HubjectClient {
  readonly providerId: string;
  readonly remoteTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Effective retry and breaker settings. */
  readonly resilience: Readonly<Required<HubjectResilienceOptions>>;
  readonly log: Logger;
  private readonly transport: HttpTransport;
  private readonly observer: ((observation: HubjectExchangeObservation) => void) | undefined;
  private readonly tracer: Tracer;
  private readonly retryPolicy: RetryPolicy;
  /** One breaker for every call: HBS is one service behind one front door. */
  private readonly breaker: Breaker;
  private readonly configuration: ConfigurationWatch;
  /** Per operation: Hubject's Retry-After (429/503) forbids sending before this instant (epoch ms). */
  private readonly heldUntil = new Map<OicpOperation, number>();

  constructor(options: HubjectClientOptions, testOverrides?: HubjectClientTestOverrides) {
    if (!PROVIDER_ID.test(options.providerId)) throw configurationError(`providerId "${options.providerId}" is not an OICP ProviderID`);
    this.providerId = options.providerId;
    this.remoteTimeoutMs = positive("remoteTimeoutMs", options.remoteTimeoutMs ?? DEFAULTS.hubjectRemoteTimeoutMs);
    if (this.remoteTimeoutMs <= CPO_REMOTE_WINDOW_MS && testOverrides?.allowShortRemoteTimeout !== true) {
      // A shorter client timeout loses the SessionID of sessions that do start (docs/oicp.md#cpo-window, #e18).
      throw configurationError(
        `remoteTimeoutMs must be greater than ${CPO_REMOTE_WINDOW_MS} (the CPO's answer window), got ${this.remoteTimeoutMs}`,
      );
    }
    this.requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? DEFAULTS.hubjectRequestTimeoutMs);
    this.log = (options.logger ?? createLogger()).child({ component: "hubject-datasource" });
    this.observer = options.observer;
    this.tracer = options.tracer ?? defaultTracer();
    this.resilience = resilienceOptions(options.resilience);
    this.retryPolicy = createRetryPolicy(this.resilience, this.log);
    this.breaker = createBreaker(this.resilience, this.log);
    this.configuration = new ConfigurationWatch(this.providerId, this.log);
    this.transport = new HttpTransport({
      baseUrl: options.baseUrl,
      tls: options.tls,
      maxSockets: positive("maxSockets", options.maxSockets ?? DEFAULTS.hubjectMaxSockets),
      log: this.log,
    });
  }

  /** Sends a request through the breaker (and, for safe calls, the retries); resolves with the last answer. */
  async post(request: PostRequest): Promise<Answer> {
    if (this.transport.isClosed) return readAnswer(request.operation, closedExchange());
    const held = this.held(request);
    if (held !== null) return held;
    try {
      // The breaker sits outside the retries, so one safe call is ONE breaker outcome however
      // many attempts it took: the threshold then counts calls, the unit callers and operators
      // think in, and does not depend on retryAttempts (with the breaker inside, a single call
      // exhausting 3 extra attempts would count 4 failures and could trip a threshold of 5 on
      // its own; one success among the retries would also hide the failures before it).
      return await this.breaker.policy.execute(() => (request.idempotent ? this.sendWithRetries(request) : this.send(request)));
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) throw error;
      const detail = `circuit breaker open after ${this.resilience.breakerFailures} consecutive failed calls to Hubject; the request was not sent`;
      this.log.debug({ operation: request.operation }, "circuit open: call not sent");
      const answer = readAnswer(request.operation, { type: "circuit-open", detail });
      this.observer?.({ operation: request.operation, outcome: "circuit-open", oicpCode: null, seconds: 0 });
      const span = startExchangeSpan(this.tracer, this.transport.baseUrl, request);
      annotateExchangeSpan(span, answer);
      span.end();
      return answer;
    }
  }

  /** For a readiness endpoint: it never calls Hubject (the AUP forbids calls just to see whether Hubject is up). */
  circuitState(): HubjectCircuitState {
    return this.breaker.state();
  }

  /** The configuration failure seen since the last successful call (latest kind), or null. */
  configurationProblem(): HubjectConfigurationProblem | null {
    return this.configuration.latest();
  }

  /** Destroys the keep-alive agents; later calls fail as unreachable. */
  close(): void {
    this.transport.close();
  }

  /** Only for idempotent requests: retries the transient failures (docs/oicp.md#status-codes) with backoff. */
  private async sendWithRetries(request: PostRequest): Promise<Answer> {
    if (!request.idempotent) throw new Error(`${request.operation} must never be retried`);
    let previous: Attempt | null = null;
    let dataTransactionErrors = 0;
    const last = await this.retryPolicy.execute(async ({ attempt }): Promise<Attempt> => {
      if (previous !== null && this.breaker.policy.state !== CircuitState.Closed) {
        // Stop retrying once the circuit is no longer closed: other calls opened it meanwhile,
        // or this call is the half-open trial, which is one request. Returning the previous
        // attempt as final (not transient) ends the retry loop without a request.
        return { ...previous, transient: null };
      }
      const answer = await this.send(request);
      const transient = answer.transient;
      let reason = transient?.reason ?? null;
      if (transient?.onlyOnce && ++dataTransactionErrors > 1) reason = null;
      const hinted = answer.retryAfterMs;
      // Retry-After is honoured as sent: a wait longer than one backoff step ends this call (the
      // caller gets a retryable error naming the wait) rather than being cut short.
      if (hinted !== null && hinted > this.resilience.retryMaxDelayMs) reason = null;
      previous = { answer, number: attempt + 1, transient: reason, retryAfterMs: hinted };
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
    return last.answer;
  }

  /** The single place a request hits the network: one span, one reading, one observation per exchange. */
  private async send(request: PostRequest): Promise<Answer> {
    const span = startExchangeSpan(this.tracer, this.transport.baseUrl, request);
    const started = Date.now();
    try {
      const answer = readAnswer(request.operation, await this.transport.send(request));
      if (answer.retryAfterMs !== null && answer.retryAfterMs > 0) this.hold(request.operation, answer.retryAfterMs);
      annotateExchangeSpan(span, answer);
      this.configuration.observe(answer);
      const { exchange } = answer;
      this.observer?.({
        operation: request.operation,
        outcome:
          exchange.type === "response"
            ? String(exchange.httpStatus)
            : exchange.type === "transport-error"
              ? exchange.failure
              : exchange.type,
        oicpCode: answer.bodyStatus?.code ?? null,
        seconds: (Date.now() - started) / 1000,
      });
      return answer;
    } finally {
      span.end();
    }
  }

  /** Records Hubject's Retry-After for one operation (the later instant wins). */
  private hold(operation: OicpOperation, ms: number): void {
    const until = Date.now() + ms;
    if (until > (this.heldUntil.get(operation) ?? 0)) this.heldUntil.set(operation, until);
  }

  /** The answer for a call Hubject asked us not to make yet, or null when it may go. Nothing is sent. */
  private held(request: PostRequest): Answer | null {
    const { operation } = request;
    const until = this.heldUntil.get(operation);
    if (until === undefined) return null;
    const waitMs = until - Date.now();
    if (waitMs <= 0) {
      this.heldUntil.delete(operation);
      return null;
    }
    this.log.debug({ operation, retryAfterMs: waitMs }, "held by Retry-After: call not sent");
    const answer = readAnswer(operation, {
      type: "held",
      retryAfterMs: waitMs,
      detail: `Hubject asked to wait (Retry-After); the request was not sent, ${Math.ceil(waitMs / 1000)} s left`,
    });
    this.observer?.({ operation, outcome: "held", oicpCode: null, seconds: 0 });
    const span = startExchangeSpan(this.tracer, this.transport.baseUrl, request);
    annotateExchangeSpan(span, answer);
    span.end();
    return answer;
  }

  /** For the safe pulls: the parsed 2xx body, or a HubjectError. */
  expectOk(answer: Answer): unknown {
    const { exchange, operation } = answer;
    if (exchange.type === "circuit-open") {
      throw new HubjectError("UNAVAILABLE", `${operation}: ${exchange.detail}`, { retryable: true, circuitOpen: true });
    }
    if (exchange.type === "held") {
      throw new HubjectError("UNAVAILABLE", `${operation}: ${exchange.detail}`, { retryable: true, retryAfterMs: exchange.retryAfterMs });
    }
    // Configuration problems were logged at error level once already (configuration-watch.ts).
    const level = answer.configurationProblem === null ? "warn" : "debug";
    if (exchange.type === "transport-error") {
      const tls = exchange.failure === "tls";
      this.log[level]({ operation, failure: exchange.failure, code: exchange.code }, "hubject call failed");
      throw new HubjectError(tls ? "CONFIGURATION" : "UNAVAILABLE", `${operation}: ${exchange.detail}`, {
        retryable: !tls && !LOCAL_FAILURE_CODES.has(exchange.code),
      });
    }
    const verdict = answer.verdict!;
    const { processId, httpStatus } = answer;
    switch (verdict.verdict) {
      case "ok":
        return verdict.json;
      case "bad-response":
        throw new HubjectError("BAD_RESPONSE", `${operation}: ${verdict.detail}`, { processId, httpStatus });
      case "upstream-error":
        throw new HubjectError("UNAVAILABLE", `${operation}: ${verdict.detail}`, {
          status: verdict.status,
          httpStatus,
          processId,
          retryable: true,
          retryAfterMs: answer.retryAfterMs,
        });
      case "rejected": {
        const kind =
          verdict.reason === "invalid-request" ? "INVALID_REQUEST" : verdict.reason === "rate-limited" ? "UNAVAILABLE" : "CONFIGURATION";
        this.log[level]({ operation, reason: verdict.reason, httpStatus, processId }, "hubject rejected the call");
        throw new HubjectError(kind, `${operation}: ${verdict.detail}`, {
          status: verdict.status,
          httpStatus,
          processId,
          retryable: verdict.reason === "rate-limited",
          retryAfterMs: answer.retryAfterMs,
        });
      }
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw configurationError(`${name} must be a positive number, got ${value}`);
  return value;
}
