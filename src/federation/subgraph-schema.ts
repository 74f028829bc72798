// Turns the schema type-graphql builds into an Apollo Federation 2 subgraph schema: the same
// types, resolvers and subscription, plus Query._entities / Query._service and the @link that
// names the federation spec. This is the schema the server runs (build-schema.ts), so the apps,
// a router and `npm run schema:subgraph` all see one schema.
import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/index.js";
import { concatAST, type GraphQLSchema, parse } from "graphql";
import { createResolversMap } from "type-graphql";
import { printSchemaWithDirectives } from "./print-with-directives.js";

/**
 * Federation 2.3: everything this subgraph uses (@key) and what every current router and Hive
 * Gateway read. Importing only @key keeps the other federation directives out of our namespace.
 */
export const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';

export function toSubgraphSchema<TContext>(schema: GraphQLSchema, references: GraphQLResolverMap<TContext>): GraphQLSchema {
  const typeDefs = concatAST([parse(FEDERATION_LINK), printSchemaWithDirectives(schema)]);
  // type-graphql's own resolvers (fields, mutations, the subscription's subscribe/resolve, the
  // DateTime scalar, enums) run unchanged; the reference resolvers are added to their types.
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<TContext>;
  for (const [typeName, extra] of Object.entries(references)) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...(extra as object) } as GraphQLResolverMap<TContext>[string];
  }
  return buildSubgraphSchema([{ typeDefs, resolvers }]);
}

/** The SDL a router composes (what Query._service { sdl } answers): @link and @key included. */
export function printSubgraphSdl(subgraph: GraphQLSchema): string {
  return printSubgraphSchema(subgraph);
}
