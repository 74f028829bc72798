import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { ChargingSession } from "../schema/charging-session.type.js";
import { Evse } from "../schema/evse.type.js";
import type { GatewayContext } from "../server/context.js";
import { isStale, type ChargingSession as Session } from "../sessions/session.js";
import { loadEvse } from "./evse-status.js";

/** Fields computed per read; the parent is the domain session as the service returns it. */
@Resolver(() => ChargingSession)
export class ChargingSessionFieldsResolver {
  @FieldResolver(() => Evse, { nullable: true })
  async evse(@Root() session: Session, @Ctx() ctx: GatewayContext): Promise<Evse> {
    return loadEvse(ctx, session.evseId);
  }

  @FieldResolver(() => Boolean)
  stale(@Root() session: Session, @Ctx() ctx: GatewayContext): boolean {
    return isStale(session, new Date(), ctx.staleAfterMs);
  }
}
