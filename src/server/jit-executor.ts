// Queries and mutations over HTTP run as compiled functions (graphql-jit) instead of graphql-js's
// interpreter: the read path's profile (bench/RESULTS.md) showed graphql-js's per-field work as
// its largest remaining cost. Apollo Server keeps everything else: parsing, validation (with our
// limits), the document cache, plugins, error formatting. It hands execution to an "executor",
// the hook its gateway interface provides; this is such an executor for our own schema.
//
// Semantics stay graphql-js's where they could differ:
// - variables are coerced by graphql-js first, so bad input gets graphql-js's errors (Apollo
//   turns them into BAD_USER_INPUT);
// - subscriptions sent over HTTP, and any document graphql-jit cannot compile, run on graphql-js;
// - so does a request for which a plugin listens to every field (willResolveField: Apollo's
//   inline traces for a federation router, `apollo-federation-include-trace: ftv1`). Apollo marks
//   such a request's context with a symbol of its own and routes the fields through its hooks,
//   which only graphql-js's execution calls.
import type { ApolloServerOptionsWithGateway, BaseContext } from "@apollo/server";
import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLSchema,
  getVariableValues,
  type OperationDefinitionNode,
  valueFromASTUntyped,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";

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
 * An Apollo Server "gateway" serving `schema` with compiled execution. Compiled plans live as long
 * as Apollo's document cache keeps the parsed document (a WeakMap keyed by it).
 */
export function createJitGateway(schema: GraphQLSchema): Gateway {
  const plans = new WeakMap<DocumentNode, Map<string, Plan>>();

  function planFor(rc: ExecutorContext): Plan {
    let byName = plans.get(rc.document);
    if (!byName) {
      byName = new Map();
      plans.set(rc.document, byName);
    }
    const name = rc.operationName ?? "";
    let plan = byName.get(name);
    if (!plan) {
      if (rc.operation.operation === "subscription") {
        plan = GRAPHQL_JS;
      } else {
        const compiled = compileQuery(schema, rc.document, rc.operationName ?? undefined);
        plan = isCompiledQuery(compiled) ? { kind: "jit", compiled } : GRAPHQL_JS;
      }
      byName.set(name, plan);
    }
    return plan;
  }

  const executor: Executor = async (rc) => {
    const plan = wantsFieldHooks(rc.context) ? GRAPHQL_JS : planFor(rc);
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
