import { badInput, hubjectUnavailable, liveStatusBusy, readsRateLimited } from "../errors.js";
import { EvseReadError, TooManyEvsesError } from "../evse-status/request-loader.js";
import { type Evse, evseStatusFromOicp } from "../schema/evse.type.js";
import type { GatewayContext } from "../server/context.js";

/** The EVSE with its status and when Hubject gave it, through the request's loader; what could not be read becomes a short, retryable error. */
export async function loadEvse(ctx: GatewayContext, evseId: string): Promise<Evse> {
  try {
    const { status, observedAt } = await ctx.evseStatus.load(evseId);
    return { id: evseId, status: evseStatusFromOicp(status), statusObservedAt: observedAt };
  } catch (error) {
    throw driverError(error);
  }
}

function driverError(error: unknown): unknown {
  if (error instanceof TooManyEvsesError) return badInput(`Ask for at most ${error.maxIds} charging points in one request.`);
  if (!(error instanceof EvseReadError)) return error;
  const { reason, retryAfterMs } = error.failure;
  switch (reason) {
    case "budget-spent":
      return liveStatusBusy(retryAfterMs);
    case "driver-limited":
      return readsRateLimited("You are checking charger status very often. Please try again in a few seconds.", retryAfterMs);
    case "unavailable":
      return hubjectUnavailable(true, retryAfterMs);
  }
}
