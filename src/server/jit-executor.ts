// Queries and mutations over HTTP run as compiled functions (graphql-jit) instead of graphql-js's
// interpreter: the read path's profile (bench/RESULTS.md) showed graphql-js's per-field work as
// its largest remaining cost. Apollo Server keeps everything else: parsing, validation (with our
// limits), the document cache, plugins, error formatting. It hands execution to an "executor",
// the hook its gateway interface provides; this is such an executor for our own schema.
//
// Semantics stay graphql-js's where they could differ:
// - variables are coerced by graphql-js first, so bad input gets graphql-js's errors (Apollo
//   turns them into BAD_USER_INPUT);
// - a subscription is refused, not executed (subscriptions run over graphql-ws:
//   plugins/http-subscriptions.plugin.ts);
// - any document graphql-jit cannot compile runs on graphql-js;
// - so does a request for which a plugin listens to every field (willResolveField: Apollo's
//   inline traces for a federation router, `apollo-federation-include-trace: ftv1`). Apollo marks
//   such a request's context with a symbol of its own and routes the fields through its hooks,
//   which only graphql-js's execution calls;
// - so does a request that may not compile (options.compiles: one without a signed-in driver),
//   which keeps what anonymous documents leave behind at nothing (document-caches.ts).
import { setFlagsFromString } from "node:v8";
import type { ApolloServerOptionsWithGateway, BaseContext } from "@apollo/server";
import {
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLSchema,
  getVariableValues,
  type OperationDefinitionNode,
  valueFromASTUntyped,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { boundedDocumentCache, planBytes } from "./document-caches.js";
import { subscriptionOverHttpError } from "./plugins/http-subscriptions.plugin.js";

type Gateway = ApolloServerOptionsWithGateway<BaseContext>["gateway"];
type Executor = NonNullable<Awaited<ReturnType<Gateway["load"]>>["executor"]>;
type ExecutorContext = Parameters<Executor>[0];

/** What a document runs on, per operation name ("" when none is given). */
type Plan = { kind: "jit"; compiled: CompiledQuery } | { kind: "graphql-js" };
const GRAPHQL_JS: Plan = { kind: "graphql-js" };

/**
 * graphql-jit reports errors with its own GraphQLError shape: `extensions` is left undefined when
 * the cause has none (a plain Error thrown by a resolver), which Apollo's error formatting does not
 * survive ("Internal server error", path lost). graphql-js's own error, built as its execute()
 * builds one (message, path, cause, the cause's extensions), with the same locations.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  const rebuilt = new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? undefined });
  (rebuilt as { locations: GraphQLError["locations"] }).locations = error.locations;
  return rebuilt;
}

/**
 * The variables as sent, plus each omitted variable's default as a client would have sent it
 * (graphql-jit 0.8 refuses an omitted `$first: Int! = 20` that graphql-js accepts).
 */
function withDefaults(operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  let inputs = variables;
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (definition.defaultValue && !(name in variables)) {
      if (inputs === variables) inputs = { ...variables };
      inputs[name] = valueFromASTUntyped(definition.defaultValue);
    }
  }
  return inputs;
}

/** Our contexts are plain objects without symbol keys; Apollo adds one when a plugin hooks every field. */
const wantsFieldHooks = (context: object): boolean => Object.getOwnPropertySymbols(context).length > 0;

/**
 * V8 keeps each function made by `new Function` in its compilation cache, keyed by its source,
 * until a GC under memory pressure clears the cache; regular GCs leave it. graphql-jit makes one
 * per document (tens of KB of generated source), so a plan the LRU evicted kept its code on the
 * heap: 2,000 distinct session lists compiled and dropped left 131 MB behind, 1 MB with the cache
 * off. Compiling a plan costs the same without it (0.8 ms, measured), and nothing in the gateway
 * compiles the same source often enough to miss it: off for the process, once.
 */
function turnOffCompilationCache(): void {
  if (compilationCacheOff) return;
  setFlagsFromString("--no-compilation-cache");
  compilationCacheOff = true;
}
let compilationCacheOff = false;

export interface JitGatewayOptions<TContext extends BaseContext> {
  /**
   * Whether a request may compile a plan and keep it: graphql.server.ts allows a signed-in driver
   * only, so that documents sent without a token run on graphql-js and leave no plan behind.
   * Default: every request.
   */
  compiles?: (context: TContext) => boolean;
}

/**
 * An Apollo Server "gateway" serving `schema` with compiled execution. Plans are kept by the
 * document's hash and operation in an LRU bounded by count and estimated bytes (document-caches.ts:
 * a plan takes several times its document's heap), so a plan outlives Apollo's parsed document and
 * a stream of distinct documents evicts plans instead of growing the heap. Apollo has validated a
 * document before it gets here: only documents within the limits are ever compiled.
 */
export function createJitGateway<TContext extends BaseContext = BaseContext>(
  schema: GraphQLSchema,
  options: JitGatewayOptions<TContext> = {},
): Gateway {
  const compiles = options.compiles ?? (() => true);
  turnOffCompilationCache();
  const plans = boundedDocumentCache<{ plan: Plan; bytes: number }>("compiledPlans", (entry) => entry.bytes);

  function planFor(rc: ExecutorContext): Plan {
    const key = `${rc.queryHash}:${rc.operationName ?? ""}`;
    const known = plans.get(key)?.plan;
    if (known) return known;
    const compiled = compileQuery(schema, rc.document, rc.operationName ?? undefined);
    const plan: Plan = isCompiledQuery(compiled) ? { kind: "jit", compiled } : GRAPHQL_JS;
    plans.set(key, { plan, bytes: plan === GRAPHQL_JS ? key.length : planBytes(rc.document, rc.operation) });
    return plan;
  }

  const executor: Executor = async (rc) => {
    // Only a federation callback request (extensions.subscription) with callbacks off gets here.
    if (rc.operation.operation === "subscription") return { errors: [subscriptionOverHttpError()] } satisfies ExecutionResult;
    const plan = wantsFieldHooks(rc.context) || !compiles(rc.context as TContext) ? GRAPHQL_JS : planFor(rc);
    const variables = rc.request.variables ?? {};
    if (plan.kind === "graphql-js") {
      return execute({
        schema,
        document: rc.document,
        contextValue: rc.context,
        variableValues: variables,
        operationName: rc.operationName,
      });
    }
    let inputs = variables;
    if (rc.operation.variableDefinitions?.length) {
      const coerced = getVariableValues(schema, rc.operation.variableDefinitions, variables, { maxErrors: 50 });
      if (coerced.errors) return { errors: coerced.errors } satisfies ExecutionResult;
      inputs = withDefaults(rc.operation, variables);
    }
    const result = await plan.compiled.query(undefined, rc.context, inputs);
    return result.errors ? { ...result, errors: result.errors.map(asGraphQLJsError) } : result;
  };

  return {
    // Our schema never changes at runtime: announce it once.
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    async load() {
      return { executor };
    },
    async stop() {},
  };
}
