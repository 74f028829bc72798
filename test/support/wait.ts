// Waiting in tests: for a condition to hold or for something to arrive, never for a fixed time.
// A sleep is either too short on a loaded machine (the test fails now and then) or longer than
// needed everywhere else. Every wait here has a generous bound and says what it waited for.
//
// Time is measured with performance.now(), so a test may fake Date (vi.useFakeTimers({ toFake:
// ["Date"] })) while it waits. The polling uses the real setTimeout: under fully fake timers,
// advance the clock (vi.advanceTimersByTimeAsync) instead of waiting.

type NotYet = undefined | null | false;

/**
 * Resolves with the first value `read` returns (or resolves to) that is not undefined, null or
 * false, polling every `intervalMs`; rejects after `timeoutMs` with "timed out … waiting for `what`".
 */
export async function eventually<T>(
  read: () => T | NotYet | PromiseLike<T | NotYet>,
  what: string,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== null && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `promise`, or a rejection naming `what` when it has not settled after `timeoutMs`. */
export async function within<T>(promise: PromiseLike<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Things that arrive one by one (events of a subscription, messages, callbacks), kept in order in
 * `items`, with waiters for the first one that matches, past or future.
 */
export class Arrivals<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<{ matches: (item: T) => boolean; resolve: (item: T) => void; reject: (error: unknown) => void }>();
  private failure: { error: unknown } | undefined;

  /**
   * @param what names an awaited item in the timeout message ("matching event")
   * @param got describes what did arrive, for the same message
   */
  constructor(
    private readonly what = "matching item",
    private readonly got: (items: readonly T[]) => string = (items) => JSON.stringify(items),
  ) {}

  push(item: T): void {
    this.items.push(item);
    for (const waiter of [...this.waiters]) if (waiter.matches(item)) waiter.resolve(item);
  }

  /** The source ended with an error: every waiter, present or future, gets it (after what had arrived). */
  fail(error: unknown): void {
    this.failure = { error };
    for (const waiter of [...this.waiters]) waiter.reject(error);
  }

  /** Resolves with the first item that satisfies `predicate`, past or future; rejects after `timeoutMs`. */
  waitFor(predicate: (item: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const seen = this.items.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.failure) return Promise.reject(this.failure.error);
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = {
        matches: predicate,
        resolve: (item: T) => {
          settle();
          resolve(item);
        },
        reject: (error: unknown) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(
        () => waiter.reject(new Error(`no ${this.what} within ${timeoutMs} ms; got ${this.got(this.items)}`)),
        timeoutMs,
      );
      this.waiters.add(waiter);
    });
  }
}
