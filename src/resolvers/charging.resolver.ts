import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { badInput } from "../errors.js";
import { isEvseId } from "../oicp/wire/identifiers.js";
import { StartChargingInput, StartChargingPayload, StopChargingInput, StopChargingPayload } from "../schema/charging.inputs.js";
import { ChargingSession } from "../schema/charging-session.type.js";
import { ChargingSessionConnection } from "../schema/connection.type.js";
import { Evse } from "../schema/evse.type.js";
import { type GatewayContext, requireDriver } from "../server/context.js";
import type { ChargingResult } from "../sessions/session.service.js";
import { loadEvse } from "./evse-status.js";
import { MAX_PAGE, sessionPage } from "./session-page.js";

/** A list longer than any EVSE_MAX_IDS_PER_REQUEST could allow is refused before it is read. */
const MAX_EVSES = 1_000;

function toPayload({ session, error }: ChargingResult) {
  return {
    session,
    error: error && { code: error.code, message: error.message, oicpStatusCode: error.oicpStatusCode, retryable: error.retryable },
  };
}

@Resolver()
export class ChargingResolver {
  @Mutation(() => StartChargingPayload, { description: "Starts charging at an EVSE through Hubject (eRoamingAuthorizeRemoteStart)." })
  async startCharging(@Arg("input", () => StartChargingInput) input: StartChargingInput, @Ctx() ctx: GatewayContext) {
    return toPayload(await ctx.sessions.startCharging(requireDriver(ctx), input));
  }

  @Mutation(() => StopChargingPayload, { description: "Stops one of your sessions (eRoamingAuthorizeRemoteStop)." })
  async stopCharging(@Arg("input", () => StopChargingInput) input: StopChargingInput, @Ctx() ctx: GatewayContext) {
    return toPayload(await ctx.sessions.stopCharging(requireDriver(ctx), input));
  }

  @Query(() => ChargingSession, { nullable: true, description: "One of your sessions; null if there is none with this id." })
  async chargingSession(@Arg("id", () => ID) id: string, @Ctx() ctx: GatewayContext) {
    return ctx.sessions.sessionForDriver(requireDriver(ctx), id);
  }

  @Query(() => ChargingSessionConnection, { description: "Your sessions, newest first." })
  async chargingSessions(
    @Ctx() ctx: GatewayContext,
    @Arg("first", () => Int, { defaultValue: 20, description: `1 to ${MAX_PAGE}.` }) first: number,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
    @Arg("active", () => Boolean, { nullable: true, description: "true: only sessions still going; false: only finished ones." })
    active?: boolean | null,
  ) {
    return sessionPage(ctx, requireDriver(ctx), { first, after, active });
  }

  @Query(() => Evse, { nullable: true, description: "A charging point with its live status from Hubject." })
  async evse(@Arg("id", () => String) id: string, @Ctx() ctx: GatewayContext) {
    requireDriver(ctx);
    const evseId = id.trim();
    if (!isEvseId(evseId)) throw badInput(`"${evseId}" is not a valid EVSE ID (for example DE*ABC*E1234*1).`, "id");
    return loadEvse(ctx, evseId);
  }

  @Query(() => [Evse], {
    description:
      "Several charging points with their live status, in the order asked. One request reads at most EVSE_MAX_IDS_PER_REQUEST distinct charging points (100 by default), whatever fields and aliases ask for them.",
  })
  async evses(@Arg("ids", () => [String]) ids: string[], @Ctx() ctx: GatewayContext) {
    requireDriver(ctx);
    if (ids.length > MAX_EVSES) throw badInput(`Ask for at most ${MAX_EVSES} EVSEs at once.`, "ids");
    const evseIds = ids.map((id) => id.trim());
    const invalid = evseIds.find((id) => !isEvseId(id));
    if (invalid !== undefined) throw badInput(`"${invalid}" is not a valid EVSE ID (for example DE*ABC*E1234*1).`, "ids");
    return Promise.all(evseIds.map((evseId) => loadEvse(ctx, evseId)));
  }
}
