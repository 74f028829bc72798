// Limits on a GraphQL document, enforced before anything executes and the same on both transports:
// Apollo gets them as validation rules and parse options, graphql-ws through checkDocument().
//
// Depth, aliases, cost and directives are graphql-armor's validation rules. The token limit is
// graphql-js's own parser option (`maxTokens`, counted the same way as armor's): armor's Apollo
// plugin for tokens throws from parsingDidStart, which Apollo 5 answers with HTTP 500, and its
// unexpectedErrorProcessingRequest hook turns *any* unexpected error into a
// GRAPHQL_VALIDATION_FAILED carrying the internal message. Armor's field-suggestion plugin is not
// used either: error-masking.ts hides suggestions on both transports, including the
// "Did you mean the enum value …" form armor's pattern misses.
import { ApolloArmor } from "@escape.tech/graphql-armor";
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  type ParseOptions,
  parse,
  specifiedRules,
  type ValidationRule,
  validate,
} from "graphql";
import { boundedDocumentCache, documentBytes } from "./document-caches.js";
import { OneChargingCommandRule } from "./one-command-rule.js";

export interface GraphQLLimits {
  /** Deepest field nesting (introspection's __schema counts 0). */
  maxDepth: number;
  /** Aliases in a document (__typename aliases are free). */
  maxAliases: number;
  /** Lexical tokens in a document (comments are free). */
  maxTokens: number;
  /** armor's cost: 1 per scalar, 2 per object, ×1.5 per level, × a literal `first`/`last`. */
  maxCost: number;
  maxDirectives: number;
}

/** The defaults of Config.graphql.limits. */

export interface DocumentLimits {
  /** For ApolloServer's `validationRules` (Apollo adds its own rule when introspection is off). */
  validationRules: ValidationRule[];
  /** For ApolloServer's `parseOptions`. */
  parseOptions: ParseOptions;
  /**
   * Parse and validate like Apollo does, with the same limits and codes: GRAPHQL_PARSE_FAILED
   * (syntax, too many tokens) or GRAPHQL_VALIDATION_FAILED (schema, introspection, limits).
   */
  checkDocument(query: string): { document: DocumentNode } | { errors: GraphQLError[] };
}

export function createDocumentLimits(schema: GraphQLSchema, limits: GraphQLLimits, options: { introspection: boolean }): DocumentLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`GraphQL limit ${name} must be a positive integer, got ${String(value)}`);
  }
  // A fresh config object: armor mutates it (it appends its reporters to onReject on protect()).
  const armor = new ApolloArmor({
    // Depth counts fields only: a fragment spread nests no resolver, so the typed client's shared
    // fragments cost no depth (armor counts each spread as a level unless told to flatten).
    maxDepth: { n: limits.maxDepth, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    costLimit: { maxCost: limits.maxCost },
    maxDirectives: { n: limits.maxDirectives },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  });
  // Armor's rules report (code BAD_USER_INPUT) instead of throwing; Apollo re-codes validation
  // errors as GRAPHQL_VALIDATION_FAILED, and so does checkDocument below.
  const { validationRules: armorRules } = armor.protect();
  // Federation's Query._service { sdl } is the whole schema: with introspection off it is refused
  // too (routers compose from a supergraph file; see DEPLOYMENT.md).
  // One startCharging/stopCharging per document (one-command-rule.ts): each is a remote call to Hubject.
  const validationRules: ValidationRule[] = [...armorRules, OneChargingCommandRule, ...(options.introspection ? [] : [NoServiceSdlRule])];
  const parseOptions: ParseOptions = { maxTokens: limits.maxTokens };
  const wsRules: ValidationRule[] = [
    ...specifiedRules,
    ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    ...validationRules,
  ];

  // Every app subscribes with the same few documents, and after a restart thousands reconnect at
  // once: a valid document is parsed and validated once (ASTs are never modified downstream).
  // Bounded by count and by estimated heap, not by its text (an AST takes up to 160 times its
  // characters); only websockets that authenticated get to send a document (websocket.ts), besides
  // the allow-list's own documents, checked at start (graphql.server.ts).
  const checked = boundedDocumentCache<DocumentNode>("websocketDocuments", (document) => documentBytes(document));

  return {
    validationRules,
    parseOptions,
    checkDocument(query) {
      const known = checked.get(query);
      if (known) return { document: known };
      let document: DocumentNode;
      try {
        document = parse(query, parseOptions);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        return { errors: [withCode(error, "GRAPHQL_PARSE_FAILED")] };
      }
      const errors = validate(schema, document, wsRules);
      if (errors.length > 0) return { errors: errors.map((error) => withCode(error, "GRAPHQL_VALIDATION_FAILED")) };
      checked.set(query, document);
      return { document };
    },
  };
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error,
    extensions: { ...error.extensions, code },
  });
}

/** Refuses Query._service (federation's SDL) — used when introspection is off. */
const NoServiceSdlRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === "_service" && context.getParentType()?.name === "Query") {
      context.reportError(new GraphQLError("The subgraph SDL (_service) is not available: introspection is disabled.", { nodes: [node] }));
    }
  },
});
