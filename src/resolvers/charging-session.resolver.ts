import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { ChargingSession } from "../schema/charging-session.type.js";
import { Evse, evseStatusFromOicp } from "../schema/evse.type.js";
import type { GatewayContext } from "../server/context.js";

@Resolver(() => ChargingSession)
export class ChargingSessionFieldsResolver {
  @FieldResolver(() => Evse, { nullable: true })
  async evse(@Root() session: ChargingSession, @Ctx() ctx: GatewayContext): Promise<Evse> {
    return { id: session.evseId, status: evseStatusFromOicp(await ctx.evseStatus.load(session.evseId)) };
  }
}
