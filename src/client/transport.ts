// Typed calls with the generated documents (./generated/graphql.ts) for any client: Node, a
// browser, React Native. Nothing here is needed at run time but `fetch` and, for subscriptions, a
// graphql-ws Client the app creates (it owns the socket, its retries and its connectionParams).
// Every import is type-only, so the compiled file runs in a browser as it is.
//
//   const data = await request({ url, token }, StartChargingDocument, { input: { evseId } });
//   data.startCharging.session?.status            // typed: ChargingSessionStatus | undefined
//
//   for await (const event of iterate(wsClient, SessionUpdatedDocument, { sessionId })) { … }
import type { Client } from "graphql-ws";
import type { TypedDocumentString } from "./generated/graphql.js";

/** The result type of a generated document. */
export type ResultOf<D> = D extends TypedDocumentString<infer TResult, infer _TVariables> ? TResult : never;
/** The variables type of a generated document. */
export type VariablesOf<D> = D extends TypedDocumentString<infer _TResult, infer TVariables> ? TVariables : never;

/** One entry of a GraphQL response's `errors`, as the gateway sends it (extensions.code: UNAUTHENTICATED, …). */
export interface GraphQLErrorBody {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface OperationResult<TResult> {
  data?: TResult | null;
  errors?: readonly GraphQLErrorBody[];
}

/** A GraphQL response with errors (or without data). `code` is the first error's extensions.code. */
export class OperationError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly errors: readonly GraphQLErrorBody[],
    readonly httpStatus?: number,
  ) {
    super(errors.map((error) => error.message).join("; ") || `GraphQL request failed (HTTP ${httpStatus ?? "?"})`);
    this.name = "OperationError";
    this.code = errors[0]?.extensions?.code;
  }
}

export interface HttpOptions {
  /** The gateway's GraphQL endpoint, e.g. https://api.example.com/graphql or "/graphql" in a page. */
  url: string;
  /** The driver's access token (sent as Authorization: Bearer …). */
  token?: string | null;
  /** Another fetch (tests, React Native polyfills). Default: the global fetch. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** POSTs a query or mutation; answers the whole GraphQL response (data and errors). */
export async function execute<TResult, TVariables>(
  options: HttpOptions,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<OperationResult<TResult> & { httpStatus: number }> {
  const doFetch = options.fetch ?? fetch;
  const response = await doFetch(options.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query: document.toString(), variables }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let body: OperationResult<TResult>;
  try {
    body = (await response.json()) as OperationResult<TResult>;
  } catch {
    body = { errors: [{ message: `The gateway answered HTTP ${response.status} without a GraphQL response.` }] };
  }
  return { ...body, httpStatus: response.status };
}

/** Like execute, but answers the data and throws an OperationError when the response has errors. */
export async function request<TResult, TVariables>(
  options: HttpOptions,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const result = await execute(options, document, variables);
  if (result.errors?.length || result.data == null) throw new OperationError(result.errors ?? [], result.httpStatus);
  return result.data;
}

export interface TypedSink<TResult> {
  next(data: TResult): void;
  error?(error: unknown): void;
  complete?(): void;
}

/**
 * Subscribes with a generated subscription document on the app's graphql-ws client. GraphQL
 * errors in a result go to `error` (as an OperationError); returns the function that unsubscribes.
 */
export function subscribe<TResult, TVariables>(
  client: Client,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  sink: TypedSink<TResult>,
): () => void {
  return client.subscribe<TResult>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next(result) {
        if (result.errors?.length) sink.error?.(new OperationError(result.errors as readonly GraphQLErrorBody[]));
        else if (result.data != null) sink.next(result.data);
      },
      error: (error) => sink.error?.(error),
      complete: () => sink.complete?.(),
    },
  );
}

/**
 * The same as an async iterator: `for await (const event of iterate(...))`. GraphQL errors are
 * thrown. `return()` (or leaving the loop) unsubscribes and also ends a `next()` still waiting.
 */
export function iterate<TResult, TVariables>(
  client: Client,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): AsyncIterableIterator<TResult> {
  const queued: TResult[] = [];
  let ended = false;
  let failure: unknown;
  let wake: () => void = () => undefined;
  const unsubscribe = subscribe(client, document, variables, {
    next: (data) => {
      queued.push(data);
      wake();
    },
    error: (error) => {
      failure ??= error ?? new Error("subscription failed");
      ended = true;
      wake();
    },
    complete: () => {
      ended = true;
      wake();
    },
  });
  const finish = (): IteratorResult<TResult> => {
    ended = true;
    unsubscribe();
    wake();
    return { done: true, value: undefined };
  };
  const iterator: AsyncIterableIterator<TResult> = {
    async next() {
      while (queued.length === 0 && !ended) await new Promise<void>((resolveWait) => (wake = resolveWait));
      if (queued.length > 0) return { done: false, value: queued.shift()! };
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        throw error;
      }
      return finish();
    },
    async return() {
      queued.length = 0;
      return finish();
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
