// What the GraphQL server keeps of the documents it is sent, and how much of it, whoever sends
// them (issue 12, item 3: distinct documents sent without a token, each answered 401, left their
// parsed document and their compiled plan behind, until the heap held a gigabyte).
//
// Four caches hold a document, or its text, or what is built from it:
// - Apollo's document store, the parsed and validated documents of HTTP requests by their hash,
//   and the texts of automatic persisted queries (both authenticatedDocumentCaches below, in place
//   of Apollo's defaults);
// - the websocket's checked documents (armor.ts);
// - the compiled graphql-jit plans (jit-executor.ts).
// Each is an LRU bounded by its number of entries and by the heap bytes its entries are estimated
// to hold (DOCUMENT_CACHES), and each is filled only for a document that passed the limits (parsed
// within the token limit, validated with every rule) from a caller who authenticated. A request
// without a token still runs (its driver fields answer UNAUTHENTICATED, public ones answer), but
// it is parsed and validated afresh, runs on graphql-js and leaves nothing behind. A request with
// an invalid token never gets that far: its context, built before Apollo parses, fails. A websocket
// has authenticated before its first subscribe is read (graphql-ws closes one that has not, 4401).
//
// Apollo Server 5's default store is an InMemoryLRUCache of 30 MiB measured as JSON, with no limit
// on entries, and filled for anyone: a document's JSON is a third to a quarter of its heap, and
// the plans, kept as long as their documents, are several times larger again. (Its default cache
// of persisted queries holds 30 M characters, registered by anyone.)
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import { type DocumentNode, Kind, type OperationDefinitionNode, type SelectionSetNode, type Token } from "graphql";
import { LRUCache } from "lru-cache";

export interface CacheBounds {
  /** Entries at most. */
  max: number;
  /** Estimated heap bytes at most, over all entries (documentBytes, planBytes). */
  maxBytes: number;
}

const MiB = 1024 * 1024;

/**
 * The bounds of each cache. An app sends a few dozen distinct documents across its versions; the
 * rest is room. Together at most 60 MiB of estimated heap, whatever anyone sends
 * (test/server/memory.test.ts measures it).
 */
export const DOCUMENT_CACHES = Object.freeze({
  /** Parsed and validated HTTP documents (Apollo's document store). */
  httpDocuments: { max: 1_000, maxBytes: 16 * MiB },
  /** Compiled graphql-jit plans, per document and operation. */
  compiledPlans: { max: 500, maxBytes: 32 * MiB },
  /** Parsed and validated websocket documents. */
  websocketDocuments: { max: 500, maxBytes: 8 * MiB },
  /** Query texts registered with Apollo's automatic persisted queries (APQ). */
  persistedQueries: { max: 1_000, maxBytes: 4 * MiB },
} satisfies Record<string, CacheBounds>);

export type DocumentCacheName = keyof typeof DOCUMENT_CACHES;

// Heap bytes, measured on this schema with Node 20 (v8 heap after GC, per entry, many shapes):
// a parsed document holds 280–505 bytes a lexical token (its nodes, their locations, and the token
// list those keep alive) besides its source text; a graphql-jit plan about 5.4 KB per field once
// fragments are expanded (generated code, resolver infos), plus the document it keeps.
const BYTES_PER_TOKEN = 512;
const BYTES_PER_PLAN_FIELD = 6 * 1024;
const BYTES_PER_PLAN = 8 * 1024;

/** Estimated heap bytes of a parsed document (an upper estimate: the caches count with it). */
export function documentBytes(document: DocumentNode): number {
  const loc = document.loc;
  // Parsed with noLocation (not done here): nothing to count tokens by; JSON is a quarter of the heap.
  if (!loc) return 4 * JSON.stringify(document).length;
  let tokens = 0;
  for (let token: Token | null = loc.startToken; token; token = token.next) tokens++;
  return tokens * BYTES_PER_TOKEN + 2 * loc.source.body.length;
}

/** Estimated heap bytes of the graphql-jit plan of `operation` (and of the document it keeps). */
export function planBytes(document: DocumentNode, operation: OperationDefinitionNode): number {
  return BYTES_PER_PLAN + BYTES_PER_PLAN_FIELD * expandedFieldCount(document, operation) + documentBytes(document);
}

/**
 * Fields in `operation` with every fragment spread expanded where it is used, as graphql-jit
 * compiles them. Each fragment is counted once (memoised), so this is linear in the document
 * even when its expansion is not.
 */
export function expandedFieldCount(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const counted = new Map<string, number>();
  const count = (selectionSet: SelectionSetNode): number => {
    let fields = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) fields += 1 + (selection.selectionSet ? count(selection.selectionSet) : 0);
      else if (selection.kind === Kind.INLINE_FRAGMENT) fields += count(selection.selectionSet);
      else fields += countFragment(selection.name.value);
    }
    return fields;
  };
  const countFragment = (name: string): number => {
    const known = counted.get(name);
    if (known !== undefined) return known;
    counted.set(name, 0); // a cycle (refused by validation) counts nothing
    const selectionSet = fragments.get(name);
    const fields = selectionSet ? count(selectionSet) : 0;
    counted.set(name, fields);
    return fields;
  };
  return count(operation.selectionSet);
}

/** What a live cache holds, for tests and operators. */
export interface DocumentCacheSize extends CacheBounds {
  name: DocumentCacheName;
  entries: number;
  bytes: number;
}

// Every cache made here, while its server lives (a test process may run several gateways).
const live = new Set<{ name: DocumentCacheName; cache: WeakRef<{ readonly size: number; readonly calculatedSize: number }> }>();

/** The sizes of every live document cache of this process. */
export function documentCacheSizes(): DocumentCacheSize[] {
  const sizes: DocumentCacheSize[] = [];
  for (const entry of live) {
    const cache = entry.cache.deref();
    if (!cache) {
      live.delete(entry);
      continue;
    }
    const { max, maxBytes } = DOCUMENT_CACHES[entry.name];
    sizes.push({ name: entry.name, entries: cache.size, bytes: cache.calculatedSize, max, maxBytes });
  }
  return sizes;
}

/** An LRU with the bounds of DOCUMENT_CACHES[name]; an entry estimated above its byte budget is not kept. */
export function boundedDocumentCache<V extends {}>(
  name: DocumentCacheName,
  bytesOf: (value: V, key: string) => number,
): LRUCache<string, V> {
  const { max, maxBytes } = DOCUMENT_CACHES[name];
  const cache = new LRUCache<string, V>({
    max,
    maxSize: maxBytes,
    sizeCalculation: (value, key) => Math.max(1, Math.ceil(bytesOf(value, key))),
  });
  live.add({ name, cache: new WeakRef(cache) });
  return cache;
}

type DocumentStore = NonNullable<ApolloServerOptions<BaseContext>["documentStore"]>;
type KeyValueCache = NonNullable<Exclude<ApolloServerOptions<BaseContext>["cache"], "bounded">>;

/**
 * Apollo's document store (its `documentStore` option) and its cache of automatic persisted
 * queries (`persistedQueries.cache`), both filled only for requests whose context `admits`
 * accepts. Apollo stores a document right after validating it, before any hook that sees the
 * caller: set() only notes the document (weakly: a request that ends takes it along), and the
 * plugin's didResolveOperation, which runs next with the request's context, keeps it or lets it
 * go. Apollo registers a persisted query right after that hook: the hook names the texts that may
 * be registered.
 */
export function authenticatedDocumentCaches<TContext extends BaseContext>(
  admits: (context: TContext) => boolean,
): { documentStore: DocumentStore; persistedQueryCache: KeyValueCache; plugin: ApolloServerPlugin<TContext> } {
  const documents = boundedDocumentCache<DocumentNode>("httpDocuments", (document) => documentBytes(document));
  const validated = new WeakMap<DocumentNode, string>();
  const documentStore: DocumentStore = {
    async get(key) {
      return documents.get(key);
    },
    async set(key, document) {
      validated.set(document, key);
    },
    async delete(key) {
      return documents.delete(key);
    },
  };

  // Two bytes a character at most, key included.
  const texts = boundedDocumentCache<string>("persistedQueries", (text, key) => 2 * (text.length + key.length));
  // Texts about to be registered, each by the request that just named it (a few at a time; a
  // request that fails in between leaves one behind, so the set is cleared now and then).
  const registering = new Set<string>();
  const persistedQueryCache: KeyValueCache = {
    async get(key) {
      return texts.get(key);
    },
    async set(key, text, options) {
      if (!registering.delete(text)) return;
      texts.set(key, text, options?.ttl ? { ttl: options.ttl * 1000 } : undefined);
    },
    async delete(key) {
      return texts.delete(key);
    },
  };

  const listener: GraphQLRequestListener<TContext> = {
    async didResolveOperation({ document, source, metrics }) {
      if (metrics.persistedQueryRegister) {
        if (registering.size >= 32) registering.clear();
        registering.add(source);
      }
      const key = validated.get(document);
      if (key === undefined) return; // read from the store
      validated.delete(document);
      documents.set(key, document);
    },
  };
  return {
    documentStore,
    persistedQueryCache,
    plugin: {
      async requestDidStart({ contextValue }) {
        return admits(contextValue) ? listener : undefined;
      },
    },
  };
}
