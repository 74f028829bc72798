import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import { ChargingSession } from "../schema/charging-session.type.js";
import { requireDriver, type GatewayContext } from "../server/context.js";

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
        return context.events.subscribe({ sessionId: args.sessionId });
      }
      return context.events.subscribe({ driverId: driver.id });
    },
  })
  sessionUpdated(
    @Root() session: ChargingSession,
    @Arg("sessionId", () => ID, { nullable: true }) _sessionId?: string | null,
  ): ChargingSession {
    return session;
  }
}
