import "reflect-metadata";
import { createPubSub } from "@graphql-yoga/subscription";
import type { GraphQLSchema } from "graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { type BuildSchemaOptions, buildSchema, buildSchemaSync } from "type-graphql";
import { toSubgraphSchema } from "../federation/subgraph-schema.js";
import { ChargingResolver } from "../resolvers/charging.resolver.js";
import { ChargeDetailRecordFieldsResolver, ChargingSessionFieldsResolver } from "../resolvers/charging-session.resolver.js";
import { ChargingStationResolver, EvseCatalogueFieldsResolver } from "../resolvers/charging-station.resolver.js";
import { DriverSessionsResolver } from "../resolvers/driver.resolver.js";
import { entityReferenceResolvers } from "../resolvers/entity-references.js";
import { IdentificationResolver } from "../resolvers/identification.resolver.js";
import { EvsePricesResolver, SessionCostResolver } from "../resolvers/pricing.resolver.js";
import { SessionUpdatesResolver } from "../resolvers/session-updates.resolver.js";
import { DriverEntity } from "./driver.type.js";

const options: BuildSchemaOptions = {
  resolvers: [
    ChargingResolver,
    ChargingSessionFieldsResolver,
    ChargeDetailRecordFieldsResolver,
    SessionUpdatesResolver,
    DriverSessionsResolver,
    IdentificationResolver,
    ChargingStationResolver,
    EvseCatalogueFieldsResolver,
    EvsePricesResolver,
    SessionCostResolver,
  ],
  // Driver is reached only through the router (_entities), never from our Query: type-graphql
  // leaves such types out unless they are named here.
  orphanedTypes: [DriverEntity],
  scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
  validate: false,
  // type-graphql insists on a PubSub whenever a @Subscription exists, even one with its own
  // `subscribe` function like ours; the gateway's fan-out is SessionEvents (session.events.ts).
  pubSub: createPubSub(),
};

/**
 * Built once per process; the schema holds no per-request state. It is the Federation 2 subgraph
 * schema (federation/subgraph-schema.ts): the apps' queries, mutations and subscription as before,
 * plus _entities/_service for a router.
 */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  return toSubgraphSchema(await buildSchema(options), entityReferenceResolvers);
}

export function buildGatewaySchemaSync(): GraphQLSchema {
  return toSubgraphSchema(buildSchemaSync(options), entityReferenceResolvers);
}
