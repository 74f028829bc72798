// Redis is the fan-out, the store is the log. While Redis is unreachable, changes published on
// any replica reach no subscriber (Redis keeps nothing for a subscriber that is not connected,
// and a publish that fails is gone). So each replica remembers when its outage began, and once
// both of its connections are back (and its subscriptions active again) it reads from the store
// every session that changed since then, minus a margin for clocks that differ between replicas,
// and hands them to its own subscribers. The subscriptions' version check (fan-out.ts) drops what
// a subscriber had already: every change reaches it once, in version order, without waiting for
// the next event. If even the store cannot be read, the listeners are told that changes were
// lost, and the app side closes its subscription sockets so that clients resume from a fresh read.
import type { Logger } from "../logger.js";
import type { ChargingSession } from "../sessions/session.js";

export interface CatchUpOptions {
  /** Sessions changed at or after `since`, oldest change first (the store). */
  changedSince(since: Date, limit: number): Promise<ChargingSession[]>;
  /** Hands a session to this process's subscriptions (fan-out.ts redeliver). */
  redeliver(session: ChargingSession): void;
  logger: Logger;
  /** Read this much further back than the outage began: other replicas' clocks may be behind. */
  marginMs?: number;
  pageSize?: number;
  /** Attempts to read the store before giving up and reporting the loss. */
  attempts?: number;
  /** The wait before the second attempt; it doubles. */
  retryDelayMs?: number;
  now?: () => number;
}

const DEFAULT_MARGIN_MS = 30_000;
const DEFAULT_PAGE_SIZE = 500;
/** Pages in one catch-up at most (a page may repeat its last instant): an outage of hours is no catch-up but a resume. */
const MAX_PAGES = 200;

export class OutageCatchUp {
  private outageSince: number | null = null;
  private running: Promise<void> | null = null;
  private readonly lostListeners: Array<(reason: string) => void> = [];
  private readonly now: () => number;

  constructor(private readonly options: CatchUpOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether changes may be missing right now (an outage began and was not caught up yet). */
  get degraded(): boolean {
    return this.outageSince !== null;
  }

  onLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** A connection went down, or a publish failed: changes from now on may not have arrived. */
  noteOutage(): void {
    this.outageSince ??= this.now();
  }

  /** The connections are back and subscribed: catches this process's subscribers up (one run at a time). */
  recovered(): Promise<void> {
    if (this.running !== null) return this.running.then(() => (this.outageSince !== null ? this.recovered() : undefined));
    if (this.outageSince === null) return Promise.resolve();
    const since = new Date(this.outageSince - (this.options.marginMs ?? DEFAULT_MARGIN_MS));
    this.outageSince = null;
    this.running = this.withRetries(since).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async withRetries(since: Date): Promise<void> {
    const attempts = this.options.attempts ?? 5;
    let delay = this.options.retryDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        const delivered = await this.catchUp(since);
        this.options.logger.info(
          { since: since.toISOString(), sessions: delivered },
          "session events caught up from the store after a redis outage",
        );
        return;
      } catch (error) {
        if (attempt >= attempts) {
          const reason = `changes since ${since.toISOString()} could not be read from the store to catch subscribers up`;
          this.options.logger.warn(
            { err: error instanceof Error ? error.message : String(error) },
            `${reason}: subscribers are told to resume`,
          );
          for (const listener of this.lostListeners) listener(reason);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }

  private async catchUp(since: Date): Promise<number> {
    let pageSize = this.options.pageSize ?? DEFAULT_PAGE_SIZE;
    let from = since;
    let delivered = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const sessions = await this.options.changedSince(from, pageSize);
      for (const session of sessions) this.options.redeliver(session);
      delivered += sessions.length;
      if (sessions.length < pageSize) return delivered;
      const last = sessions.at(-1)!.updatedAt;
      // A page that ends where it began (more changes in one millisecond than a page holds) is read again larger.
      if (last.getTime() === from.getTime()) pageSize *= 2;
      from = last;
    }
    throw new Error(`more than ${MAX_PAGES} pages of changes to catch up`);
  }
}
