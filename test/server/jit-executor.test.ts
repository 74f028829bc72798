// Which requests the compiled executor runs itself and which it leaves to graphql-js. A resolver
// can tell: graphql-jit calls it from code it generated (its stack names graphql-jit's compiler).
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginUsageReportingDisabled } from "@apollo/server/plugin/disabled";
import { buildSchema, type GraphQLFieldResolver, type GraphQLObjectType } from "graphql";
import { afterEach, describe, expect, it } from "vitest";
import { createJitGateway } from "../../src/server/jit-executor.js";

const calls: { field: string; compiled: boolean }[] = [];
const compiledCaller = (): boolean => (new Error().stack ?? "").includes("graphql-jit");

const schema = buildSchema(/* GraphQL */ `
  type Item { id: ID! label: String! }
  type Query { hello(name: String!): String! items(first: Int = 2): [Item!]! boom: String }
  type Mutation { rename(id: ID!, label: String!): Item! }
`);
const resolvers: Record<string, Record<string, GraphQLFieldResolver<unknown, unknown, any>>> = {
  Query: {
    hello: (_, { name }: { name: string }) => {
      calls.push({ field: "hello", compiled: compiledCaller() });
      return `hello ${name}`;
    },
    items: (_, { first }: { first: number }) => Array.from({ length: first }, (_, i) => ({ id: String(i), label: `item ${i}` })),
    boom: () => {
      throw new Error("boom");
    },
  },
  Mutation: {
    rename: (_, { id, label }: { id: string; label: string }) => {
      calls.push({ field: "rename", compiled: compiledCaller() });
      return { id, label };
    },
  },
};
for (const [typeName, fields] of Object.entries(resolvers)) {
  const type = schema.getType(typeName) as GraphQLObjectType;
  for (const [fieldName, resolve] of Object.entries(fields)) type.getFields()[fieldName]!.resolve = resolve;
}

let server: ApolloServer<BaseContext> | null = null;
afterEach(async () => {
  calls.length = 0;
  await server?.stop();
  server = null;
});

/** As graphql.server.ts runs it: without cache control, whose plugin would hook every field. */
async function start(plugins: ApolloServerPlugin<BaseContext>[] = [], { cacheControl = false } = {}) {
  const defaults = [ApolloServerPluginUsageReportingDisabled(), ...(cacheControl ? [] : [ApolloServerPluginCacheControlDisabled()])];
  server = new ApolloServer<BaseContext>({ gateway: createJitGateway(schema), plugins: [...defaults, ...plugins] });
  await server.start();
  return server;
}

async function run(s: ApolloServer<BaseContext>, query: string, variables?: Record<string, unknown>) {
  const response = await s.executeOperation({ query, variables });
  if (response.body.kind !== "single") throw new Error("expected a single result");
  return response.body.singleResult;
}

describe("createJitGateway", () => {
  it("runs queries and mutations compiled, once compiled per document, with graphql-js's results", async () => {
    const s = await start();
    for (let i = 0; i < 3; i++) {
      expect(await run(s, `query Q($n: String!) { hello(name: $n) items { id label } }`, { n: "ada" })).toEqual({
        data: {
          hello: "hello ada",
          items: [
            { id: "0", label: "item 0" },
            { id: "1", label: "item 1" },
          ],
        },
      });
    }
    expect(await run(s, `mutation { rename(id: "7", label: "x") { id label } }`)).toEqual({ data: { rename: { id: "7", label: "x" } } });
    expect(calls).toEqual([...Array(3).fill({ field: "hello", compiled: true }), { field: "rename", compiled: true }]);
  });

  it("coerces variables with graphql-js first: bad input gets BAD_USER_INPUT and runs no resolver", async () => {
    const s = await start();
    const result = await run(s, `query Q($n: String!) { hello(name: $n) }`, { n: 42 });
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]).toMatchObject({
      message: expect.stringContaining('Variable "$n" got invalid value 42'),
      extensions: { code: "BAD_USER_INPUT" },
    });
    const missing = await run(s, `query Q($n: String!) { hello(name: $n) }`, {});
    expect(missing.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(calls).toEqual([]);
  });

  it("applies the defaults of omitted variables, non-null ones included", async () => {
    const s = await start();
    const q = `query Q($n: String! = "zed", $first: Int! = 1, $maybe: Int = 3) { hello(name: $n) items(first: $first) { id } more: items(first: $maybe) { id } }`;
    expect(await run(s, q, {})).toEqual({
      data: { hello: "hello zed", items: [{ id: "0" }], more: [{ id: "0" }, { id: "1" }, { id: "2" }] },
    });
    // An explicit null is a value, not an omission: no default (the resolver makes no items of it).
    expect(await run(s, q, { n: "ann", maybe: null })).toEqual({ data: { hello: "hello ann", items: [{ id: "0" }], more: [] } });
    expect(calls.every((c) => c.compiled)).toBe(true);
  });

  it("keeps resolver errors in place with their path", async () => {
    const s = await start();
    const result = await run(s, `{ boom hello(name: "x") }`);
    expect(result.data).toEqual({ boom: null, hello: "hello x" });
    expect(result.errors).toMatchObject([
      { message: "boom", path: ["boom"], locations: [{ line: 1, column: 3 }], extensions: { code: "INTERNAL_SERVER_ERROR" } },
    ]);
  });

  it("leaves a request to graphql-js when a plugin hooks every field (willResolveField)", async () => {
    const resolved: string[] = [];
    const fieldHooks: ApolloServerPlugin<BaseContext> = {
      async requestDidStart({ request }) {
        if (!request.http?.headers.get("x-trace-fields") && !request.extensions?.traceFields) return;
        return {
          async executionDidStart() {
            return {
              willResolveField({ info }) {
                resolved.push(`${info.parentType.name}.${info.fieldName}`);
              },
            };
          },
        };
      },
    };
    const s = await start([fieldHooks]);
    const traced = await s.executeOperation({ query: `{ hello(name: "a") items(first: 1) { id } }`, extensions: { traceFields: true } });
    expect(traced.body.kind === "single" && traced.body.singleResult.data).toEqual({ hello: "hello a", items: [{ id: "0" }] });
    expect(resolved).toEqual(["Query.hello", "Query.items", "Item.id"]);
    expect(calls).toEqual([{ field: "hello", compiled: false }]);
    // The same document without the hook: compiled again.
    await run(s, `{ hello(name: "a") items(first: 1) { id } }`);
    expect(calls.at(-1)).toEqual({ field: "hello", compiled: true });
  });

  it("Apollo's cache-control plugin, when on, hooks every field: then everything runs on graphql-js", async () => {
    const s = await start([], { cacheControl: true });
    expect(await run(s, `{ hello(name: "b") }`)).toEqual({ data: { hello: "hello b" } });
    expect(calls).toEqual([{ field: "hello", compiled: false }]);
  });
});
