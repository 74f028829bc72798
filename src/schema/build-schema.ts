import "reflect-metadata";
import { createPubSub } from "@graphql-yoga/subscription";
import type { GraphQLSchema } from "graphql";
import { GraphQLDateTime } from "graphql-scalars";
import { buildSchema, buildSchemaSync, type BuildSchemaOptions } from "type-graphql";
import { ChargingSessionFieldsResolver } from "../resolvers/charging-session.resolver.js";
import { ChargingResolver } from "../resolvers/charging.resolver.js";
import { SessionUpdatesResolver } from "../resolvers/session-updates.resolver.js";

const options: BuildSchemaOptions = {
  resolvers: [ChargingResolver, ChargingSessionFieldsResolver, SessionUpdatesResolver],
  scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
  validate: false,
  // type-graphql insists on a PubSub whenever a @Subscription exists, even one with its own
  // `subscribe` function like ours; the gateway's fan-out is SessionEvents (session.events.ts).
  pubSub: createPubSub(),
};

/** Built once per process; the schema holds no per-request state. */
export function buildGatewaySchema(): Promise<GraphQLSchema> {
  return buildSchema(options);
}

export function buildGatewaySchemaSync(): GraphQLSchema {
  return buildSchemaSync(options);
}
