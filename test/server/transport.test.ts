// The edges of both transports: request size (HTTP 413, websocket close 1009), CSRF prevention,
// and a gateway with introspection and Sandbox off (no schema through introspection, the landing
// page or "Did you mean …" hints).
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { driver, startTestGateway, type TestDriver, type TestGateway } from "../support/gateway.js";
import { wsOperation, wsRequest } from "./support.js";

const MAX_BODY_BYTES = 4096;

let gw: TestGateway;
let alice: TestDriver;

beforeAll(async () => {
  gw = await startTestGateway({
    env: { HTTP_MAX_BODY_BYTES: String(MAX_BODY_BYTES), INTROSPECTION_ENABLED: "false", SANDBOX_ENABLED: "false" },
  });
  alice = await driver("alice", ["DE-GQL-C00000001-7"]);
});

afterAll(async () => gw?.close());

/** A query of exactly `bytes` bytes as a JSON body: whitespace padding costs no tokens. */
function bodyOf(bytes: number): string {
  const base = JSON.stringify({ query: "{ __typename }" });
  return JSON.stringify({ query: `{ __typename }${" ".repeat(bytes - base.length)}` });
}

async function postText(
  body: string | ReadableStream<Uint8Array>,
  headers: Record<string, string> = { "content-type": "application/json" },
) {
  const response = await fetch(gw.gateway.graphqlUrl, { method: "POST", headers, body, duplex: "half" } as RequestInit);
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text: await response.text() };
}

describe("responses", () => {
  it("a GraphQL answer carries its Content-Length and is not chunked", async () => {
    const response = await fetch(gw.gateway.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ query: "{ chargingSessions(first: 5) { nodes { id } pageInfo { hasNextPage } } }" }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(Number(response.headers.get("content-length"))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual({ data: { chargingSessions: { nodes: [], pageInfo: { hasNextPage: false } } } });
  });
});

describe("request size", () => {
  it("HTTP: a body at the limit is served; one byte more gets 413 with a JSON error", async () => {
    expect(Buffer.byteLength(bodyOf(MAX_BODY_BYTES))).toBe(MAX_BODY_BYTES);
    const ok = await postText(bodyOf(MAX_BODY_BYTES));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ data: { __typename: "Query" } });

    const tooBig = await postText(bodyOf(MAX_BODY_BYTES + 1));
    expect(tooBig.status).toBe(413);
    expect(tooBig.contentType).toContain("application/json");
    expect(JSON.parse(tooBig.text)).toEqual({
      errors: [{ message: expect.stringContaining("too large"), extensions: { code: "PAYLOAD_TOO_LARGE" } }],
    });
  });

  it("HTTP: a chunked body (no Content-Length) is cut off at the limit too", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 16) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const tooBig = await postText(stream);
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.text).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("graphql-ws: a message at the limit is served; a bigger one closes the socket with 1009", async () => {
    const message = (bytes: number) => {
      const base = JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ __typename }" } });
      return JSON.stringify({ id: "1", type: "subscribe", payload: { query: `{ __typename }${" ".repeat(bytes - base.length)}` } });
    };
    expect(Buffer.byteLength(message(MAX_BODY_BYTES))).toBe(MAX_BODY_BYTES);
    const ok = await wsOperation(gw.gateway.websocketUrl, alice.token, { query: "" }, { rawMessage: message(MAX_BODY_BYTES) }).outcome;
    expect(ok.next[0]).toEqual({ data: { __typename: "Query" } });

    // graphql-ws's socket error handler logs the "Max payload size exceeded" it sees.
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const tooBig = await wsOperation(gw.gateway.websocketUrl, alice.token, { query: "" }, { rawMessage: message(MAX_BODY_BYTES + 1) })
        .outcome;
      expect(tooBig.next).toEqual([]);
      expect(tooBig.closed?.code).toBe(1009);
    } finally {
      consoleError.mockRestore();
    }
  });
});

describe("CSRF prevention", () => {
  it("refuses GET and simple POSTs without a preflight-triggering header", async () => {
    const get = await fetch(`${gw.gateway.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`);
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/CSRF/);

    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const post = await postText(JSON.stringify({ query: "{ __typename }" }), { "content-type": contentType });
      expect(post.status).toBe(400);
      expect(post.text).toMatch(/CSRF/);
    }
  });

  it("serves application/json POSTs, and GETs that carry apollo-require-preflight", async () => {
    const post = await postText(JSON.stringify({ query: "{ __typename }" }));
    expect(post.status).toBe(200);
    expect(JSON.parse(post.text).data.__typename).toBe("Query");

    const get = await fetch(`${gw.gateway.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    expect(get.status).toBe(200);
    expect(((await get.json()) as any).data.__typename).toBe("Query");
  });
});

describe("introspection and Sandbox off", () => {
  it("refuses introspection over HTTP", async () => {
    for (const query of [
      getIntrospectionQuery(),
      `{ __schema { types { name } } }`,
      `{ __type(name: "ChargingSession") { fields { name } } }`,
    ]) {
      const { status, body } = await gw.graphql(query, {}, alice.token);
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });

  it("refuses introspection over graphql-ws", async () => {
    for (const query of [`{ __schema { types { name } } }`, `{ __type(name: "ChargingSession") { fields { name } } }`]) {
      const outcome = await wsRequest(gw.gateway.websocketUrl, alice.token, { query });
      expect(outcome.next).toEqual([]);
      expect(outcome.error?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });

  it("serves no landing page to a browser", async () => {
    const response = await fetch(gw.gateway.graphqlUrl, { headers: { accept: "text/html" } });
    const text = await response.text();
    expect(response.headers.get("content-type") ?? "").not.toContain("text/html");
    expect(text).not.toMatch(/<html|<!DOCTYPE|sandbox|embeddable/i);
    expect(response.status).toBe(400);
  });

  it("hides field, argument and type suggestions on both transports", async () => {
    const mistakes = [
      `{ evse(id: "DE*SIM*E0001*1") { statu } }`,
      `{ chargingSessions(frist: 2) { nodes { id } } }`,
      `query($id: Strin) { evse(id: $id) { id } }`,
      `{ evse(id: "DE*SIM*E0001*1") }`,
    ];
    for (const query of mistakes) {
      const http = await gw.graphql(query, {}, alice.token);
      expect(http.status).toBe(400);
      expect(http.body.errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(http.body)).not.toMatch(/Did you mean|status"|first|String"|stacktrace/);

      const ws = await wsRequest(gw.gateway.websocketUrl, alice.token, { query });
      expect(ws.error?.length).toBeGreaterThan(0);
      expect(JSON.stringify(ws.error)).not.toMatch(/Did you mean|status"|first|String"/);
    }
  });
});
