import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from "type-graphql";
import { forbidden } from "../errors.js";
import { ChargingSessionConnection } from "../schema/connection.type.js";
import { DriverEntity } from "../schema/driver.type.js";
import { type GatewayContext, requireDriver } from "../server/context.js";
import { MAX_PAGE, sessionPage } from "./session-page.js";

/** What this subgraph adds to the accounts subgraph's Driver entity. */
@Resolver(() => DriverEntity)
export class DriverSessionsResolver {
  /**
   * Only the caller's own sessions: a Driver reference whose id is not the token's `sub` answers
   * FORBIDDEN, not an empty page. The router reaches this field from whatever Driver the accounts
   * subgraph returned (an admin or a family view could list other drivers); an empty list would
   * read as "this driver never charged", a FORBIDDEN error says what really happened, and the
   * non-null connection makes the router null that Driver instead of inventing data.
   */
  @FieldResolver(() => ChargingSessionConnection, { description: "This driver's sessions, newest first. Only for the driver themselves." })
  async chargingSessions(
    @Root() driver: DriverEntity,
    @Ctx() ctx: GatewayContext,
    @Arg("first", () => Int, { defaultValue: 20, description: `1 to ${MAX_PAGE}.` }) first: number,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("active", () => Boolean, { nullable: true, description: "true: only sessions still going; false: only finished ones." })
    active?: boolean | null,
  ) {
    const caller = requireDriver(ctx);
    if (caller.id !== driver.id) throw forbidden("Charging sessions are only visible to the driver they belong to.");
    return sessionPage(ctx, caller, { first, after, active });
  }
}
