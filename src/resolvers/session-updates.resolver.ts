import { Repeater } from "@graphql-yoga/subscription";
import { Arg, ID, Resolver, Root, type SubscribeResolverData, Subscription } from "type-graphql";
import { unauthenticated } from "../errors.js";
import { pushSpan } from "../observability/tracing-context.js";
import { ChargingSession } from "../schema/charging-session.type.js";
import { type GatewayContext, requireDriver } from "../server/context.js";
import type { Driver, ChargingSession as Session } from "../sessions/session.js";

type SubscribeData = SubscribeResolverData<unknown, { sessionId?: string | null }, GatewayContext>;

@Resolver()
export class SessionUpdatesResolver {
  @Subscription(() => ChargingSession, {
    description: "Every change to one of your sessions (with sessionId) or to any of them (without). Each event is the whole session.",
    // Routed topics: a subscriber only ever receives its own sessions' changes (session.events.ts).
    subscribe: async ({ args, context }: SubscribeData) => {
      const driver = requireDriver(context);
      if (args.sessionId) {
        await context.sessions.ownSession(driver, args.sessionId, "watch");
        return onlyFor(driver, context.events.subscribe({ sessionId: args.sessionId }));
      }
      return onlyFor(driver, context.events.subscribe({ driverId: driver.id }));
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
 * sent, and an expired token ends the stream (the socket itself is closed with 4403). A Repeater,
 * not an async generator: a generator's return() waits for the next event, so a closed
 * subscription would hold its listener until the session changed again.
 */
function onlyFor(driver: Driver & { expiresAt?: Date | null }, events: AsyncIterable<Session>): AsyncIterable<Session> {
  return new Repeater<Session>(async (push, stop) => {
    const iterator = events[Symbol.asyncIterator]();
    const stopped = stop.then(() => ({ done: true as const, value: undefined }));
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) break;
        if (driver.expiresAt && driver.expiresAt.getTime() <= Date.now()) {
          stop(unauthenticated("Your session has expired. Sign in again."));
          break;
        }
        if (next.value.driverId === driver.id) await push(next.value);
      }
    } finally {
      await iterator.return?.();
      stop();
    }
  });
}
