// The one write path for session changes: the state machine decides, the store writes only if
// nobody else wrote in between (a conditional update on the version), and what was written is
// published. Every use case changes sessions through here and nowhere else.
import type { Clock, SessionEvents, SessionMetrics } from "./ports.js";
import type { ChargingSession, SessionEvent } from "./session.js";
import type { NewSession, SessionStore } from "./session.store.js";
import { applySessionEvent } from "./session-state.js";

export interface SessionWriterDeps {
  store: SessionStore;
  events: SessionEvents;
  clock: Clock;
  metrics?: SessionMetrics;
}

const MAX_TRANSITION_ATTEMPTS = 20;

export class SessionWriter {
  constructor(private readonly deps: SessionWriterDeps) {}

  get clock(): Clock {
    return this.deps.clock;
  }

  /**
   * Applies one event: read, decide (session-state.ts), write if still at the version read,
   * publish. Another writer winning the race means reading again. Undefined: no such session.
   */
  async apply(sessionId: string, event: SessionEvent): Promise<ChargingSession | undefined> {
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt++) {
      const current = await this.deps.store.get(sessionId);
      if (!current) return undefined;
      const next = applySessionEvent(current, event);
      if (!next) return current;
      if (await this.deps.store.replace(next)) {
        this.deps.events.publish(next);
        const firstCharging = current.status === "REQUESTED" || current.status === "OUTCOME_UNKNOWN" || current.status === "ACCEPTED";
        if (firstCharging && next.status === "CHARGING" && next.origin === "APP") {
          this.deps.metrics?.reachedCharging((next.updatedAt.getTime() - next.requestedAt.getTime()) / 1000);
        }
        return next;
      }
    }
    throw new Error(`session ${sessionId}: gave up applying ${event.type} after ${MAX_TRANSITION_ATTEMPTS} write conflicts`);
  }

  /**
   * Inserts a new session and publishes it, unless a unique rule of the store forbids it (a start
   * of this driver at this EVSE already in flight, a second session for one Hubject SessionID):
   * then null, and nothing is published.
   */
  async create(session: NewSession): Promise<ChargingSession | null> {
    const created = await this.deps.store.tryInsert(session);
    if (created) this.deps.events.publish(created);
    return created;
  }

  /** Pushes the session again, unchanged (same version), e.g. when it just turned stale. */
  announce(session: ChargingSession): void {
    // Same version as subscribers already have: only an explicit re-announcement passes their filter.
    this.deps.events.publish(session, { reannounce: true });
  }
}
