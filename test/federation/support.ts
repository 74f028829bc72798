// Federation test kit: our subgraph's SDL, a small accounts subgraph that owns Driver (the other
// half of every supergraph here), and composition with the hint policy the tests share.
import { composeServices } from "@apollo/composition";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { type DocumentNode, parse } from "graphql";
import { jwtVerify } from "jose";
import { printSubgraphSdl } from "../../src/federation/subgraph-schema.js";
import { buildGatewaySchema } from "../../src/schema/build-schema.js";
import { TEST_JWT_SECRET } from "../support/gateway.js";

/** The subgraph SDL exactly as `npm run schema:subgraph` prints it. */
export async function empSubgraphSdl(): Promise<string> {
  return printSubgraphSdl(await buildGatewaySchema());
}

export const ACCOUNTS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Driver @key(fields: "id") {
    id: ID!
    name: String!
  }

  type Query {
    "The signed-in driver (the token's sub)."
    me: Driver
  }
`;

export const DRIVER_NAMES: Record<string, string> = { alice: "Alice Example", bob: "Bob Example" };

export interface AccountsSubgraph {
  url: string;
  /** Authorization headers the accounts subgraph received, in order (the gateway must forward them). */
  authorizations: Array<string | undefined>;
  stop(): Promise<void>;
}

/** The accounts subgraph: Apollo Server standalone on an ephemeral port, same JWT secret as our gateway. */
export async function startAccountsSubgraph(): Promise<AccountsSubgraph> {
  const authorizations: Array<string | undefined> = [];
  const server = new ApolloServer<{ sub: string | null }>({
    schema: buildSubgraphSchema({
      typeDefs: parse(ACCOUNTS_SDL),
      resolvers: {
        Query: { me: (_root: unknown, _args: unknown, ctx: { sub: string | null }) => (ctx.sub ? { id: ctx.sub } : null) },
        Driver: {
          __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
          name: (driver: { id: string }) => DRIVER_NAMES[driver.id] ?? driver.id,
        },
      } as any,
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: "127.0.0.1" },
    context: async ({ req }) => {
      const header = req.headers.authorization;
      authorizations.push(header);
      const token = header?.replace(/^Bearer\s+/i, "");
      if (!token) return { sub: null };
      const { payload } = await jwtVerify(token, new TextEncoder().encode(TEST_JWT_SECRET));
      return { sub: payload.sub ?? null };
    },
  });
  return { url, authorizations, stop: () => server.stop() };
}

/**
 * Hint codes that say nothing is wrong with these two subgraphs. Any other hint fails the test:
 * hints are where composition reports a type that merges differently than intended (a field
 * becoming optional, an enum value dropped, an inconsistent description of a shared type, …).
 */
export const ALLOWED_HINT_CODES: ReadonlySet<string> = new Set([
  // Two subgraphs describe a shared element (Driver, Driver.id) in different words: composition
  // keeps one description. Documentation only, no behaviour. (Not raised by today's SDLs.)
  "INCONSISTENT_DESCRIPTION",
]);

type CompositionHint = NonNullable<ReturnType<typeof composeServices>["hints"]>[number];

export interface Composed {
  supergraphSdl: string;
  hints: readonly CompositionHint[];
}

export function compose(subgraphs: Array<{ name: string; url: string; sdl: string | DocumentNode }>): Composed {
  const result = composeServices(
    subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: typeof sdl === "string" ? parse(sdl) : sdl })),
  );
  if (result.errors) {
    throw new Error(
      `composition failed:\n${result.errors.map((e) => `  - ${(e.extensions?.code as string) ?? "?"}: ${e.message}`).join("\n")}`,
    );
  }
  for (const hint of result.hints) console.info(`composition hint ${hint.definition.code}: ${hint.message}`);
  const unexpected = result.hints.filter((hint) => !ALLOWED_HINT_CODES.has(hint.definition.code));
  if (unexpected.length > 0) {
    throw new Error(`composition hints that matter:\n${unexpected.map((h) => `  - ${h.definition.code}: ${h.message}`).join("\n")}`);
  }
  return { supergraphSdl: result.supergraphSdl, hints: result.hints };
}
