import { Arg, ID, Resolver, Root, type SubscribeResolverData, Subscription } from "type-graphql";
import { unauthenticated } from "../errors.js";
import { pushSpan } from "../observability/tracing-context.js";
import { ChargingSession } from "../schema/charging-session.type.js";
import { type GatewayContext, requireDriver, takeSubscriptionSlot } from "../server/context.js";
import type { SubscriptionSlot } from "../server/subscription-limits.js";
import type { Driver, ChargingSession as Session } from "../sessions/session.js";

type SubscribeData = SubscribeResolverData<unknown, { sessionId?: string | null }, GatewayContext>;

@Resolver()
export class SessionUpdatesResolver {
  @Subscription(() => ChargingSession, {
    description: "Every change to one of your sessions (with sessionId) or to any of them (without). Each event is the whole session.",
    // Routed topics: a subscriber only ever receives its own sessions' changes (pubsub/fan-out.ts).
    subscribe: async ({ args, context }: SubscribeData) => {
      const driver = requireDriver(context);
      if (args.sessionId) {
        await context.sessions.ownSession(driver, args.sessionId, "watch");
        return onlyFor(driver, context.events.subscribe({ sessionId: args.sessionId }), takeSubscriptionSlot(context));
      }
      return onlyFor(driver, context.events.subscribe({ driverId: driver.id }), takeSubscriptionSlot(context));
    },
  })
  sessionUpdated(
    @Root() session: ChargingSession,
    @Arg("sessionId", () => ID, { nullable: true }) _sessionId?: string | null,
  ): ChargingSession {
    // One span per delivered event, child of the span that produced the change (tracing.ts).
    return pushSpan(session, () => session);
  }
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
