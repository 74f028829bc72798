// Small clients for the hostile-GraphQL suites: one graphql-ws operation over a raw socket (so a
// test controls every frame: APQ payloads with an empty query, oversized messages), and counters.

import { ApolloArmor } from "@escape.tech/graphql-armor";
import { type GraphQLSchema, Lexer, parse, Source, TokenKind, validate } from "graphql";
import WebSocket from "ws";
import { Arrivals } from "../support/wait.js";

export interface WsOutcome {
  /** Payloads of `next` messages for the operation. */
  next: any[];
  /** Payload of an `error` message (the operation was refused or failed), else undefined. */
  error?: any[];
  completed: boolean;
  /** Set when the socket closed before the operation finished. */
  closed?: { code: number; reason: string };
}

export interface WsOperation {
  /** Resolves once the operation completed, errored, or the socket closed. */
  outcome: Promise<WsOutcome>;
  /** Resolves with the first `next` payload. */
  firstNext(timeoutMs?: number): Promise<any>;
  close(): void;
}

export interface WsPayload {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
}

/**
 * Opens a graphql-transport-ws socket, authenticates with `token`, sends one subscribe message
 * (or `rawMessage` verbatim instead) and collects what comes back for it.
 */
export function wsOperation(url: string, token: string | null, payload: WsPayload, options: { rawMessage?: string } = {}): WsOperation {
  const socket = new WebSocket(url, "graphql-transport-ws");
  const nexts = new Arrivals<any>("next message", () => JSON.stringify(result));
  const result: WsOutcome = { next: nexts.items, completed: false };
  let settle!: (value: WsOutcome) => void;
  const outcome = new Promise<WsOutcome>((resolve) => (settle = resolve));

  socket.on("error", () => undefined);
  socket.on("open", () => {
    socket.send(JSON.stringify({ type: "connection_init", payload: token ? { authorization: `Bearer ${token}` } : {} }));
  });
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string; payload?: any };
    if (message.type === "connection_ack") {
      socket.send(options.rawMessage ?? JSON.stringify({ id: "1", type: "subscribe", payload }));
      return;
    }
    if (message.id !== "1") return;
    if (message.type === "next") {
      nexts.push(message.payload);
    } else if (message.type === "error") {
      result.error = message.payload;
      settle(result);
    } else if (message.type === "complete") {
      result.completed = true;
      settle(result);
    }
  });
  socket.on("close", (code, reason) => {
    result.closed = { code, reason: String(reason) };
    settle(result);
  });

  return {
    outcome,
    firstNext: (timeoutMs = 5_000) => nexts.waitFor(() => true, timeoutMs),
    close() {
      socket.close();
    },
  };
}

/** One query or mutation over graphql-ws, to its end. */
export async function wsRequest(url: string, token: string | null, payload: WsPayload): Promise<WsOutcome> {
  const operation = wsOperation(url, token, payload);
  const outcome = await operation.outcome;
  operation.close();
  return outcome;
}

/** Lexical tokens as graphql-js's parser counts them for `maxTokens` (comments and EOF excluded). */
export function tokenCount(query: string): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

/** graphql-armor's cost of a document, as its cost-limit rule computes it. */
export function armorCost(schema: GraphQLSchema, query: string): number {
  let cost = Number.NaN;
  const { validationRules } = new ApolloArmor({
    costLimit: { maxCost: Number.MAX_SAFE_INTEGER, onAccept: [(_context, details: { n: number }) => (cost = details.n)] },
    maxDepth: { enabled: false },
    maxAliases: { enabled: false },
    maxDirectives: { enabled: false },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  const errors = validate(schema, parse(query), validationRules);
  if (errors.length > 0) throw errors[0];
  return cost;
}
