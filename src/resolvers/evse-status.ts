import { HubjectError } from "../datasources/hubject.datasource.js";
import { hubjectUnavailable } from "../errors.js";
import { type Evse, evseStatusFromOicp } from "../schema/evse.type.js";
import type { GatewayContext } from "../server/context.js";

/** The EVSE with its live status, through the request's DataLoader; Hubject failures become HUBJECT_UNAVAILABLE. */
export async function loadEvse(ctx: GatewayContext, evseId: string): Promise<Evse> {
  try {
    return { id: evseId, status: evseStatusFromOicp(await ctx.evseStatus.load(evseId)) };
  } catch (error) {
    if (error instanceof HubjectError) throw hubjectUnavailable(error.retryable);
    throw error;
  }
}
