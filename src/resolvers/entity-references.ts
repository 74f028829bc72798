// Federation reference resolvers (`__resolveReference`): how the router's `_entities` call turns
// `{ __typename, id }` into one of our objects. type-graphql has no decorator for them, so they
// are a plain resolver map that federation/subgraph-schema.ts merges with type-graphql's.
//
// Both require a signed-in caller (the router forwards the app's Authorization header): an
// anonymous reference is UNAUTHENTICATED, an error rather than a silent null, so that a router
// that forgets to forward the token is noticed at once instead of showing empty data.
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/index.js";
import { isEvseId } from "../oicp/wire/identifiers.js";
import type { Evse } from "../schema/evse.type.js";
import { type GatewayContext, requireDriver } from "../server/context.js";
import type { ChargingSession } from "../sessions/session.js";
import { loadEvse } from "./evse-status.js";

interface Reference {
  id: string;
}

/** A session of the caller's; another driver's (or an unknown) id resolves to null, with no error that would reveal it exists. */
async function resolveSessionReference(reference: Reference, ctx: GatewayContext): Promise<ChargingSession | null> {
  requireDriver(ctx);
  if (!ctx.sessionReferences) throw new Error("GatewayContext.sessionReferences is missing: contextFor must add federationLoaders(…)");
  // N representations in one _entities call → N loads in one tick → one store.getMany.
  return ctx.sessionReferences.load(reference.id);
}

/**
 * The EVSE with its live status, through the request's evseStatus loader: N references become
 * one PullEvseStatusById per 100 ids. Signed-in callers only, like Query.evse (Hubject's status
 * calls are a shared, rate-limited budget). An id that is not an EvseID is no entity: null.
 */
async function resolveEvseReference(reference: Reference, ctx: GatewayContext): Promise<Evse | null> {
  requireDriver(ctx);
  const evseId = typeof reference.id === "string" ? reference.id.trim() : "";
  if (!isEvseId(evseId)) return null;
  return loadEvse(ctx, evseId);
}

export const entityReferenceResolvers: GraphQLResolverMap<GatewayContext> = {
  ChargingSession: { __resolveReference: resolveSessionReference },
  Evse: { __resolveReference: resolveEvseReference },
};
