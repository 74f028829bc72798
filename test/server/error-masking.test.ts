// Error masking, the same on both transports: in production an unexpected error reaches the client
// as "Internal server error" (no message, stack or upstream body) and the log keeps its cause;
// client errors keep their message. Uses createGraphQLServer with a tiny schema whose resolvers fail
// on purpose, production on and off.

import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { GraphQLError, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from "graphql";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuthenticatedDriver } from "../../src/server/auth.js";
import type { GatewayContext } from "../../src/server/context.js";
import { createGraphQLServer, type GraphQLServer } from "../../src/server/graphql.server.js";
import { wsOperation, wsRequest } from "./support.js";

const SECRET = "secret upstream body: <soap:Fault>db=10.0.0.7 password=hunter2</soap:Fault>";

async function* events() {
  yield { tick: "one" };
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: "Query",
    fields: {
      fine: { type: GraphQLString, resolve: () => "ok" },
      echo: {
        type: GraphQLString,
        args: { text: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_root, args: { text: string }) => args.text,
      },
      boom: {
        type: GraphQLString,
        resolve: () => {
          throw new Error(SECRET);
        },
      },
      oddCode: {
        type: GraphQLString,
        resolve: () => {
          throw new GraphQLError(SECRET, { extensions: { code: "DOWNSTREAM_SERVICE_ERROR" } });
        },
      },
      forbidden: {
        type: GraphQLString,
        resolve: () => {
          throw new GraphQLError("That session belongs to someone else.", { extensions: { code: "FORBIDDEN", http: { status: 403 } } });
        },
      },
      /** graphql-js's own execution error ("Cannot return null …"): a server bug, not the client's. */
      nonNull: { type: new GraphQLNonNull(GraphQLString), resolve: () => null },
    },
  }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      /** The event resolver fails: an execution error inside a `next` message. */
      boomOnEvent: {
        type: GraphQLString,
        subscribe: () => events(),
        resolve: () => {
          throw new Error(SECRET);
        },
      },
      /** The source stream fails while iterating: an `error` message. */
      boomOnIterate: {
        type: GraphQLString,
        subscribe: async function* () {
          yield { boomOnIterate: "first" };
          throw new Error(SECRET);
        },
      },
      /** subscribe() itself throws. */
      boomOnSubscribe: {
        type: GraphQLString,
        subscribe: () => {
          throw new Error(SECRET);
        },
      },
    },
  }),
});

const DRIVER: AuthenticatedDriver = { id: "d1", evcoIds: [], roles: [], expiresAt: null };
let running: Array<{ server: GraphQLServer; close(): Promise<void> }> = [];

async function start(production: boolean, introspection = false, contextFor: () => GatewayContext = () => ({}) as GatewayContext) {
  const lines: string[] = [];
  const logger = pino(
    { level: "debug" },
    new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    }),
  );
  const server = await createGraphQLServer({
    schema,
    authenticator: { authenticate: async () => DRIVER },
    contextFor,
    sandbox: false,
    introspection,
    production,
    logger,
  });
  await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  const entry = {
    server,
    async close() {
      await server.stop();
      if (server.server.listening) await new Promise((r) => server.server.close(r));
    },
  };
  running.push(entry);
  const http = async (query: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as any };
  };
  return { http, wsUrl: `ws://127.0.0.1:${port}/graphql`, log: () => lines.join("") };
}

afterEach(async () => {
  await Promise.all(running.map((r) => r.close()));
  running = [];
});

/** Nothing of the cause: message, stack frames, file paths. */
function expectNothingLeaked(text: string) {
  expect(text).not.toContain("secret");
  expect(text).not.toContain("hunter2");
  expect(text).not.toContain("stacktrace");
  expect(text).not.toMatch(/\bat .*\(|node_modules|\.ts:\d|\.js:\d/);
}

const INTERNAL = { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };

describe("in production", () => {
  it("HTTP: unexpected errors are masked and logged with their cause; client errors keep their message", async () => {
    const gw = await start(true);
    for (const query of ["{ fine boom }", "{ oddCode }", "{ nonNull }"]) {
      const { status, text, body } = await gw.http(query);
      expect(status).toBe(200);
      expectNothingLeaked(text);
      expect(body.errors).toEqual([{ ...INTERNAL, path: [expect.any(String)] }]);
    }
    expect((await gw.http("{ fine boom }")).body.data).toEqual({ fine: "ok", boom: null });

    const forbidden = await gw.http("{ forbidden }");
    expect(forbidden.body.errors).toEqual([
      {
        message: "That session belongs to someone else.",
        locations: [{ line: 1, column: 3 }],
        path: ["forbidden"],
        extensions: { code: "FORBIDDEN" },
      },
    ]);
    const invalid = await gw.http("{ fine(x: 1) }");
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0]).toMatchObject({
      message: expect.stringContaining('Unknown argument "x"'),
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
    expectNothingLeaked(invalid.text);

    expect(gw.log()).toContain("hunter2");
    expect(gw.log()).toContain("unexpected error in a GraphQL operation");
  });

  it("graphql-ws: the same masking for query errors, event errors, failing streams and failing subscribe()", async () => {
    const gw = await start(true);
    const query = await wsRequest(gw.wsUrl, "token", { query: "{ fine boom }" });
    expect(query.next).toEqual([{ data: { fine: "ok", boom: null }, errors: [{ ...INTERNAL, path: ["boom"] }] }]);

    const odd = await wsRequest(gw.wsUrl, "token", { query: "{ oddCode }" });
    expect(odd.next[0].errors).toEqual([{ ...INTERNAL, path: ["oddCode"] }]);

    const onEvent = await wsRequest(gw.wsUrl, "token", { query: "subscription { boomOnEvent }" });
    expect(onEvent.next).toEqual([{ data: { boomOnEvent: null }, errors: [{ ...INTERNAL, path: ["boomOnEvent"] }] }]);

    const onIterate = await wsRequest(gw.wsUrl, "token", { query: "subscription { boomOnIterate }" });
    expect(onIterate.next).toEqual([{ data: { boomOnIterate: "first" } }]);
    expect(onIterate.error).toEqual([INTERNAL]);

    const onSubscribe = await wsRequest(gw.wsUrl, "token", { query: "subscription { boomOnSubscribe }" });
    expect(onSubscribe.next[0].errors).toEqual([{ ...INTERNAL, path: ["boomOnSubscribe"] }]);

    for (const outcome of [query, odd, onEvent, onIterate, onSubscribe]) expectNothingLeaked(JSON.stringify(outcome));

    const forbidden = await wsRequest(gw.wsUrl, "token", { query: "{ forbidden }" });
    expect(forbidden.next[0].errors).toEqual([
      {
        message: "That session belongs to someone else.",
        locations: [{ line: 1, column: 3 }],
        path: ["forbidden"],
        extensions: { code: "FORBIDDEN" },
      },
    ]);
    const badVariable = await wsRequest(gw.wsUrl, "token", { query: "query($v: String!) { echo(text: $v) }", variables: {} });
    expect(badVariable.next[0].errors[0]).toMatchObject({
      message: expect.stringContaining('"$v"'),
      extensions: { code: "BAD_USER_INPUT" },
    });
    const syntax = await wsRequest(gw.wsUrl, "token", { query: "{ fine" });
    expect(syntax.error?.[0]).toMatchObject({
      message: expect.stringContaining("Syntax Error"),
      extensions: { code: "GRAPHQL_PARSE_FAILED" },
    });
    expect(syntax.closed).toBeUndefined();

    expect(gw.log().match(/hunter2/g)?.length).toBeGreaterThanOrEqual(5);
  });

  it("a failure outside any resolver (building the context) is masked too: HTTP 500, websocket closed with 4500", async () => {
    const gw = await start(true, false, () => {
      throw new Error(SECRET);
    });
    const http = await gw.http("{ fine }");
    expect(http.status).toBe(500);
    expect(http.body.errors).toEqual([INTERNAL]);
    expectNothingLeaked(http.text);

    const consoleError = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const ws = await wsRequest(gw.wsUrl, "token", { query: "{ fine }" });
      expect(ws.closed).toEqual({ code: 4500, reason: "Internal server error" });
      expectNothingLeaked(JSON.stringify(ws));
    } finally {
      consoleError.mockRestore();
    }
  });

  it("introspection defaults to off with Sandbox off", async () => {
    const gw = await start(true);
    const ws = await wsOperation(gw.wsUrl, "token", { query: "{ __schema { queryType { name } } }" }).outcome;
    expect(ws.error?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect((await gw.http("{ __schema { queryType { name } } }")).status).toBe(400);
  });
});

describe("in development", () => {
  it("unexpected errors keep their message (and Apollo's stack trace over HTTP) to help debugging", async () => {
    const gw = await start(false, true);
    const http = await gw.http("{ boom }");
    expect(http.body.errors[0]).toMatchObject({
      message: SECRET,
      extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: expect.any(Array) },
    });
    const ws = await wsRequest(gw.wsUrl, "token", { query: "{ boom }" });
    expect(ws.next[0].errors[0]).toMatchObject({ message: SECRET, extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(gw.log()).toContain("hunter2");
  });
});

describe("variable values never come back in errors (they may hold a PIN or a contract)", () => {
  it("cuts the value out of graphql-js's coercion message and keeps the reason", async () => {
    const { withoutVariableValue } = await import("../../src/server/error-masking.js");
    expect(
      withoutVariableValue(
        'Variable "$input" got invalid value { pin: "SECRET; 123", bogus: 1 }; Field "bogus" is not defined by type "RegisterIdentificationInput".',
      ),
    ).toBe('Variable "$input" got an invalid value; Field "bogus" is not defined by type "RegisterIdentificationInput".');
    expect(
      withoutVariableValue('Variable "$input" got invalid value 7391 at "input.pin"; String cannot represent a non string value: 7391'),
    ).toBe('Variable "$input" got an invalid value; String cannot represent a non string value.');
    expect(withoutVariableValue("Cannot query field")).toBe("Cannot query field");
  });
});
