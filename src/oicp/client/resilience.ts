// Retries of the safe calls and the circuit breaker around every call (cockatiel), with the
// settings behind them. The policies judge answers only through the fields answer.ts read.
import {
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
import { DEFAULTS } from "../../config/defaults.js";
import type { Logger } from "../../logger.js";
import { type Answer, describeAnswer } from "./answer.js";
import { configurationError } from "./errors.js";

export interface HubjectResilienceOptions {
  /** Extra attempts for the safe calls (PullEvseStatusByID, GetChargeDetailRecords); 0 = no retries. */
  retryAttempts?: number;
  /** First backoff delay; it doubles per attempt, with jitter. */
  retryInitialDelayMs?: number;
  /** Upper bound of one backoff delay. A longer Retry-After ends the call instead: it is honoured as sent, never cut. */
  retryMaxDelayMs?: number;
  /** Consecutive calls showing Hubject unhealthy that open the circuit. */
  breakerFailures?: number;
  /** How long the circuit stays open before one trial call may go through. */
  breakerHalfOpenAfterMs?: number;
}

export const DEFAULT_RESILIENCE: Readonly<Required<HubjectResilienceOptions>> = Object.freeze({
  retryAttempts: DEFAULTS.hubjectRetryAttempts,
  // Not settings: the AUP asks for exponential backoff with jitter (docs/oicp.md#rate-limits).
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 5_000,
  breakerFailures: DEFAULTS.hubjectBreakerFailures,
  breakerHalfOpenAfterMs: DEFAULTS.hubjectBreakerHalfOpenMs,
});

/** "half-open" also while open once the delay has passed: the next call will be the trial. */
export type HubjectCircuitState = "closed" | "open" | "half-open";

/** One attempt of a safe call as the retry policy sees it. */
export interface Attempt {
  answer: Answer;
  /** 1 for the first request. */
  number: number;
  /** Why repeating may help (null: do not retry). */
  transient: string | null;
  /** From Retry-After on a 429 or 503 (at most retryMaxDelayMs: a longer one ends the retries). */
  retryAfterMs: number | null;
}

export function resilienceOptions(options: HubjectResilienceOptions | undefined): Readonly<Required<HubjectResilienceOptions>> {
  const given = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_RESILIENCE, ...given } as Required<HubjectResilienceOptions>;
  if (!Number.isInteger(merged.retryAttempts) || merged.retryAttempts < 0) {
    throw configurationError(`resilience.retryAttempts must be an integer >= 0, got ${merged.retryAttempts}`);
  }
  if (!Number.isInteger(merged.breakerFailures) || merged.breakerFailures < 1) {
    throw configurationError(`resilience.breakerFailures must be an integer >= 1, got ${merged.breakerFailures}`);
  }
  for (const name of ["retryInitialDelayMs", "retryMaxDelayMs", "breakerHalfOpenAfterMs"] as const) {
    if (!Number.isFinite(merged[name]) || merged[name] <= 0)
      throw configurationError(`resilience.${name} must be a positive number, got ${merged[name]}`);
  }
  if (merged.retryMaxDelayMs < merged.retryInitialDelayMs) {
    throw configurationError("resilience.retryMaxDelayMs must be >= resilience.retryInitialDelayMs");
  }
  return Object.freeze(merged);
}

export function createRetryPolicy(resilience: Readonly<Required<HubjectResilienceOptions>>, log: Logger): RetryPolicy {
  const { retryAttempts, retryInitialDelayMs, retryMaxDelayMs } = resilience;
  // Exponential with "half jitter": each delay is random in [d/2, d), d = initial * 2^n, capped.
  // The floor keeps some distance even on the first retry (429s), the jitter de-synchronises callers.
  const exponential: IBackoffFactory<unknown> = new ExponentialBackoff({
    generator: halfJitterGenerator,
    initialDelay: retryInitialDelayMs,
    maxDelay: retryMaxDelayMs,
  });
  // Hubject's Retry-After (429/503) replaces the computed delay (a longer one than retryMaxDelayMs
  // ended the retries already); the exponential state still advances. DelegateBackoff is
  // cockatiel's hook for exactly this.
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
    log.info(
      {
        operation: attempt.answer.operation,
        attempt: attempt.number,
        cause: attempt.transient,
        delayMs: Math.round(event.delay),
        processId: attempt.answer.processId,
      },
      "hubject call failed transiently: retrying",
    );
  });
  return policy;
}

/** The breaker and when it opened (for circuitState(): cockatiel reports "open" until the next call). */
export interface Breaker {
  policy: CircuitBreakerPolicy;
  state(): HubjectCircuitState;
}

export function createBreaker(resilience: Readonly<Required<HubjectResilienceOptions>>, log: Logger): Breaker {
  const { breakerFailures, breakerHalfOpenAfterMs } = resilience;
  let openedAt: number | null = null;
  // Only answers that show Hubject itself unhealthy count; any other answer (business codes,
  // 4xx, 429, even 017) proves Hubject is up and resets the consecutive count. The function
  // never throws, so cockatiel's "unhandled error closes a half-open circuit" path is unused.
  const policy = circuitBreaker(
    handleWhenResult((result) => (result as Answer).unhealthy),
    { halfOpenAfter: breakerHalfOpenAfterMs, breaker: new ConsecutiveBreaker(breakerFailures) },
  );
  policy.onBreak((reason) => {
    const trial = openedAt !== null;
    openedAt = Date.now();
    const cause = "value" in reason ? (reason.value as Answer) : null;
    log.warn(
      {
        circuit: "open",
        operation: cause?.operation,
        cause: cause ? describeAnswer(cause) : "isolated",
        processId: cause?.processId ?? null,
        consecutiveFailures: trial ? undefined : breakerFailures,
        retryInMs: breakerHalfOpenAfterMs,
      },
      trial
        ? "Hubject circuit re-opened: the trial call failed"
        : `Hubject circuit opened after ${breakerFailures} consecutive failed calls: calls fail fast for ${breakerHalfOpenAfterMs} ms`,
    );
  });
  policy.onHalfOpen(() => log.info({ circuit: "half-open" }, "Hubject circuit half-open: letting one trial call through"));
  policy.onReset(() => {
    openedAt = null;
    log.info({ circuit: "closed" }, "Hubject circuit closed: calls go through again");
  });
  return {
    policy,
    state() {
      switch (policy.state) {
        case CircuitState.Closed:
          return "closed";
        case CircuitState.HalfOpen:
          return "half-open";
        default:
          // cockatiel stays "Open" until the next call after the delay; report what that call will be.
          return openedAt !== null && Date.now() - openedAt >= breakerHalfOpenAfterMs ? "half-open" : "open";
      }
    },
  };
}
