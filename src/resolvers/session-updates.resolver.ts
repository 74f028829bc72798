import { Arg, ID, Resolver, Root, type SubscribeResolverData, Subscription } from "type-graphql";
import { badInput, unauthenticated } from "../errors.js";
import { pushSpan } from "../observability/tracing-context.js";
import { ChargingSession } from "../schema/charging-session.type.js";
import { type GatewayContext, requireDriver, takeSubscriptionSlot } from "../server/context.js";
import type { SubscriptionSlot } from "../server/subscription-limits.js";
import type { Driver, ChargingSession as Session } from "../sessions/session.js";

type SubscribeData = SubscribeResolverData<unknown, { sessionId?: string | null; since?: Date | null }, GatewayContext>;

/** A resume point may be this far ahead of our clock (the app's clock is not ours). */
const SINCE_SKEW_MS = 60_000;

@Resolver()
export class SessionUpdatesResolver {
  @Subscription(() => ChargingSession, {
    description:
      "Every change to one of your sessions (with sessionId) or to any of them (without). Each event is the whole session. With `since` (the updatedAt of the last event you received), every session that changed at or after it comes first, as it is now, then the live events: no gap and no duplicate at the seam (reconnecting).",
    // Routed topics: a subscriber only ever receives its own sessions' changes (pubsub/fan-out.ts).
    subscribe: async ({ args, context }: SubscribeData) => {
      const driver = requireDriver(context);
      const since = args.since ?? null;
      if (since && since.getTime() > Date.now() + SINCE_SKEW_MS) {
        throw badInput("`since` is in the future: pass the updatedAt of the last event you received.", "since");
      }
      if (args.sessionId) await context.sessions.ownSession(driver, args.sessionId, "watch");
      const topic = args.sessionId ? { sessionId: args.sessionId } : { driverId: driver.id };
      const live = onlyFor(driver, context.events.subscribe(topic), takeSubscriptionSlot(context));
      if (!since) return live;
      return resumed(live, () => context.sessions.reads.changedSince(driver, since, args.sessionId ?? null));
    },
  })
  sessionUpdated(
    @Root() session: ChargingSession,
    @Arg("sessionId", () => ID, { nullable: true }) _sessionId?: string | null,
    @Arg("since", () => Date, { nullable: true, description: "Resume point: the updatedAt of the last event received." })
    _since?: Date | null,
  ): ChargingSession {
    // One span per delivered event, child of the span that produced the change (tracing.ts).
    return pushSpan(session, () => session);
  }
}

/**
 * A resumed subscription: the live stream is joined first (its first read registers it with its
 * topic), then the store is read, so that nothing changed in between is missed; what the store
 * gave goes out first, then the live events, each session's only when its version is newer than
 * what was sent (a change in both is sent once).
 */
function resumed(live: AsyncIterableIterator<Session>, missed: () => Promise<Session[]>): AsyncIterableIterator<Session> {
  const sent = new Map<string, number>();
  const first = live.next();
  let backlog: Session[] | null = null;
  let pendingFirst: Promise<IteratorResult<Session, undefined>> | null = first;
  const newer = (session: Session) => (sent.get(session.id) ?? 0) < session.version;
  const mark = (session: Session) => sent.set(session.id, session.version);
  return {
    async next() {
      if (backlog === null) {
        try {
          backlog = await missed();
        } catch (error) {
          await live.return?.();
          throw error;
        }
      }
      const caught = backlog.shift();
      if (caught) {
        mark(caught);
        return { done: false, value: caught };
      }
      for (;;) {
        const next = pendingFirst ?? live.next();
        pendingFirst = null;
        const result = await next;
        if (result.done) return result;
        if (newer(result.value)) {
          mark(result.value);
          return result;
        }
      }
    },
    return: async () => (await live.return?.()) ?? { done: true, value: undefined },
    throw: async (error?: unknown) => {
      await live.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * Defence in depth on top of routing: every event is checked against the subscriber before it is
 * sent, and an expired token ends the stream (the socket itself is closed with 4403).
 *
 * Pulled, never read ahead: the next event is asked for only when graphql-ws asks for it, that is
 * once the previous one has been written to the socket. So an event waits in the session events'
 * buffer (bounded, pubsub/fan-out.ts), and the work of executing it happens when the fair delivery
 * there wakes the consumer, in its slice; read ahead, it would run whenever the socket drained,
 * hundreds at once. Hand-written rather than an async generator: return() must end the stream at
 * once, even while it waits for the next event (a generator would hold its listener until the
 * session changed again). The subscription's slot in the limits, when its transport handed one
 * over (HTTP callbacks), is given back when it ends.
 */
function onlyFor(
  driver: Driver & { expiresAt?: Date | null },
  events: AsyncIterable<Session>,
  slot: SubscriptionSlot | undefined,
): AsyncIterableIterator<Session> {
  const iterator = events[Symbol.asyncIterator]();
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    slot?.release();
    await iterator.return?.();
  };
  return {
    async next() {
      while (!ended) {
        const next = await iterator.next();
        if (next.done || ended) break;
        if (driver.expiresAt && driver.expiresAt.getTime() <= Date.now()) {
          await end();
          throw unauthenticated("Your session has expired. Sign in again.");
        }
        if (next.value.driverId === driver.id) return next;
      }
      await end();
      return done;
    },
    async return() {
      await end();
      return done;
    },
    async throw(error?: unknown) {
      await end();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
