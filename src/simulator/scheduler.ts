// Every timer and every outgoing request of the simulator goes through one Scheduler, so that
// idle() knows exactly when nothing is pending and close() leaves no timer behind.

export type Cancel = () => void;

export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Callbacks running right now: one that cancels the last other timer must not look idle midway. */
  private running = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly abort = new AbortController();

  /** A failing callback is reported, never thrown from a timer: the simulator must not crash its host. */
  constructor(private readonly onError: (error: unknown) => void = () => {}) {}

  /** Aborted by close(): outgoing requests listen to it. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  /** Runs fn after ms; returns a cancel function. A returned promise is tracked until it settles. */
  after(ms: number, fn: () => unknown): Cancel {
    if (this.closed) return () => {};
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.running++;
        try {
          const result = fn();
          if (result instanceof Promise) void this.track(result.catch(this.onError));
        } catch (error) {
          this.onError(error);
        } finally {
          this.running--;
          this.settle();
        }
      },
      Math.max(0, ms),
    );
    this.timers.add(timer);
    return () => {
      if (this.timers.delete(timer)) {
        clearTimeout(timer);
        this.settle();
      }
    };
  }

  /** Keeps idle() waiting until the promise settles. Rejections are swallowed: callers handle their own. */
  track<T>(promise: Promise<T>): Promise<T> {
    const tracked = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.then(() => {
      this.inFlight.delete(tracked);
      this.settle();
    });
    return promise;
  }

  get pending(): number {
    return this.timers.size + this.inFlight.size + this.running;
  }

  idle(): Promise<void> {
    if (this.pending === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.settle(true);
  }

  private settle(force = false): void {
    if (!force && this.pending > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
