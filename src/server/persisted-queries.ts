// Persisted-query allow-list (GRAPHQL_PERSISTED_QUERIES=allow-list): only operations listed in a
// manifest run, on HTTP and on graphql-ws. The check runs on the request as received, before any
// GraphQL parsing or validation work.
//
// Manifest (GRAPHQL_PERSISTED_QUERIES_FILE): one JSON object mapping the lowercase hex SHA-256 of
// each operation's exact text (UTF-8 bytes) to that text:
//
//   {
//     "6c4d…e1f0": "query Session($id: ID!) { chargingSession(id: $id) { id status } }",
//     "0a9b…77c2": "subscription Updates { sessionUpdated { id status } }"
//   }
//
// (the shape GraphQL Code Generator's client preset writes with persistedDocuments and
// hashAlgorithm "sha256"). Each key must be the SHA-256 of its value and each value must parse;
// the gateway refuses to start otherwise, naming GRAPHQL_PERSISTED_QUERIES_FILE.
//
// A request is allowed when
//   - it names a listed hash, Apollo-APQ style: extensions.persistedQuery.sha256Hash (the query
//     may be absent or empty; if present it must be the listed text), or
//   - it sends a plain `query` whose SHA-256 is listed (byte-identical text), or
//   - introspection is enabled and the document asks only for introspection fields (__schema,
//     __type, __typename): tools such as Apollo Sandbox keep working in development.
// Anything else carrying an operation gets PERSISTED_QUERY_NOT_ALLOWED (HTTP 400).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type DocumentNode, GraphQLError, Kind, parse, type SelectionSetNode } from "graphql";
import { ConfigError } from "../config/config.js";
import { isRecord } from "../lib/json.js";

export type PersistedQueriesOption =
  | { mode: "off" }
  /** Config.graphql.persistedQueries: the file is read and checked when the server is created. */
  | { mode: "allow-list"; file: string }
  /** An already-loaded manifest (hash → text), e.g. from loadPersistedQueryManifest(). */
  | { mode: "allow-list"; manifest: ReadonlyMap<string, string> };

export const PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED";
const SETTING = "GRAPHQL_PERSISTED_QUERIES_FILE";

export const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** Reads and checks a manifest file; every problem is reported at once as a ConfigError. */
export function loadPersistedQueryManifest(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError([`${SETTING}: cannot read ${file} (${(error as Error).message})`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${SETTING}: ${file} is not valid JSON (${(error as Error).message})`]);
  }
  return checkPersistedQueryManifest(json, file);
}

/** Checks a parsed manifest (see the format above) and returns it as a Map keyed by lowercase hash. */
export function checkPersistedQueryManifest(json: unknown, source = "the manifest"): Map<string, string> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError([`${SETTING}: ${source} must be a JSON object mapping the SHA-256 (hex) of each operation to its text`]);
  }
  const problems: string[] = [];
  const manifest = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    if (!/^[0-9a-fA-F]{64}$/.test(key)) {
      problems.push(`${SETTING}: ${source}: "${key.slice(0, 80)}" is not a SHA-256 hex digest`);
      continue;
    }
    if (typeof value !== "string" || value.trim() === "") {
      problems.push(`${SETTING}: ${source}: the entry ${key} must be the operation's text`);
      continue;
    }
    const hash = key.toLowerCase();
    if (sha256Hex(value) !== hash) {
      problems.push(`${SETTING}: ${source}: the entry ${key} is not the SHA-256 of its text (the text was changed, or hashed differently)`);
      continue;
    }
    try {
      parse(value);
    } catch (error) {
      problems.push(`${SETTING}: ${source}: the entry ${key} does not parse: ${(error as Error).message}`);
      continue;
    }
    manifest.set(hash, value);
  }
  if (problems.length === 0 && manifest.size === 0) {
    problems.push(`${SETTING}: ${source} lists no operations: every request would be refused`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return manifest;
}

export type PersistedQueryDecision =
  /** Nothing to decide (no operation in the request, or mode off): the server handles it as usual. */
  | { kind: "pass" }
  /** Run this text; the request's persistedQuery extension has been dealt with. */
  | { kind: "run"; query: string }
  | { kind: "refuse"; error: GraphQLError };

export interface PersistedQueryGuard {
  readonly mode: "off" | "allow-list";
  /** The listed operations (empty when off). */
  readonly manifest: ReadonlyMap<string, string>;
  /** `query` and `extensions` as the client sent them (any JSON). */
  decide(query: unknown, extensions: unknown): PersistedQueryDecision;
}

export function createPersistedQueryGuard(
  option: PersistedQueriesOption,
  options: { introspection: boolean; maxTokens: number },
): PersistedQueryGuard {
  if (option.mode === "off") return { mode: "off", manifest: new Map(), decide: () => ({ kind: "pass" }) };
  const manifest = "file" in option ? loadPersistedQueryManifest(option.file) : normalise(option.manifest);
  const refuse = (message: string): PersistedQueryDecision => ({
    kind: "refuse",
    error: new GraphQLError(message, { extensions: { code: PERSISTED_QUERY_NOT_ALLOWED, http: { status: 400 } } }),
  });

  return {
    mode: "allow-list",
    manifest,
    decide(query, extensions) {
      const text = typeof query === "string" && query.trim() !== "" ? query : undefined;
      const persisted = isRecord(extensions) ? extensions.persistedQuery : undefined;
      if (persisted !== undefined && persisted !== null) {
        const hash = isRecord(persisted) ? persisted.sha256Hash : undefined;
        if (typeof hash !== "string") return refuse("The persistedQuery extension needs a sha256Hash.");
        const listed = manifest.get(hash.toLowerCase());
        if (listed === undefined) return refuse("This operation is not on the gateway's allow-list.");
        if (text !== undefined && text !== listed) return refuse("The query does not match its persisted-query hash.");
        return { kind: "run", query: listed };
      }
      if (text === undefined) return { kind: "pass" };
      if (manifest.has(sha256Hex(text))) return { kind: "run", query: text };
      if (options.introspection && isIntrospectionOnly(text, options.maxTokens)) return { kind: "run", query: text };
      return refuse("This operation is not on the gateway's allow-list.");
    },
  };
}

function normalise(manifest: ReadonlyMap<string, string>): Map<string, string> {
  return checkPersistedQueryManifest(Object.fromEntries(manifest), "the manifest");
}

/** The request's `extensions` without persistedQuery (undefined when nothing else is left). */
export function withoutPersistedQuery(extensions: unknown): Record<string, unknown> | undefined {
  if (!isRecord(extensions)) return undefined;
  const { persistedQuery: _persistedQuery, ...rest } = extensions;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** Only query operations whose root fields are all __schema, __type or __typename. */
export function isIntrospectionOnly(query: string, maxTokens: number): boolean {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens, noLocation: true });
  } catch {
    return false;
  }
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  const seen = new Set<string>();
  const rootFieldsAreIntrospection = (set: SelectionSetNode): boolean =>
    set.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value.startsWith("__");
      if (selection.kind === Kind.INLINE_FRAGMENT) return rootFieldsAreIntrospection(selection.selectionSet);
      const name = selection.name.value;
      if (seen.has(name)) return true; // a cycle: validation refuses it
      seen.add(name);
      const fragment = fragments.get(name);
      return fragment !== undefined && rootFieldsAreIntrospection(fragment);
    });
  let operations = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) continue;
    if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== "query") return false;
    operations++;
    if (!rootFieldsAreIntrospection(definition.selectionSet)) return false;
  }
  return operations > 0;
}
