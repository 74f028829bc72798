// PostgreSQL for tests: every test (or test file) gets a schema of its own in the shared
// database, selected through the URL alone (`?schema=gw_x`), so parallel test files and
// gateway processes started with that DATABASE_URL never see each other's rows.
//
// TEST_DATABASE_URL names the server (default postgres://127.0.0.1:5432/test). PostgreSQL is
// required: when nothing answers, the PostgreSQL variants fail (postgresAvailable() throws).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { postgresClientConfig } from "../../src/store/sql/database.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://127.0.0.1:5432/test";

/** Adds `schema=<schema>` to a postgres:// URL (the gateway's way of selecting a schema). */
export function withSchema(url: string, schema: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}schema=${encodeURIComponent(schema)}`;
}

/** Runs one statement on a connection of its own (on `url`, default the test server). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
  url: string = TEST_DATABASE_URL,
): Promise<R[]> {
  const client = new pg.Client({ ...postgresClientConfig(url, { applicationName: "emp-gateway-tests" }), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let available: Promise<boolean> | undefined;

/** Whether the test server answers. Throws instead when TEST_DATABASE_URL was set explicitly. */
export function postgresAvailable(): Promise<boolean> {
  // PostgreSQL is part of this project's test environment (.ci/run starts it): without it the
  // PostgreSQL variants fail loudly instead of skipping.
  available ??= adminQuery("select 1").then(
    () => true,
    (error: unknown) => {
      throw new Error(`PostgreSQL does not answer at ${TEST_DATABASE_URL} (start it as .ci/run does): ${String(error)}`);
    },
  );
  return available;
}

/** A fresh schema name, valid for `?schema=` (lower case, digits, `_`). */
export const randomSchemaName = (): string => `gw_${randomBytes(6).toString("hex")}`;

export interface TestSchema {
  /** DATABASE_URL selecting the schema (`...?schema=gw_x`): for openSqlStore, createLeaderLease, gateway processes. */
  url: string;
  schema: string;
  /** Drops the schema and everything in it (close the stores using it first). Safe to call twice. */
  drop(): Promise<void>;
}

/** Creates an empty schema `gw_<random>` on the test server. Nothing is migrated: store.migrate() does that. */
export async function createTestSchema(): Promise<TestSchema> {
  const schema = randomSchemaName();
  await adminQuery(`create schema ${pg.escapeIdentifier(schema)}`);
  let dropped: Promise<void> | undefined;
  return {
    url: withSchema(TEST_DATABASE_URL, schema),
    schema,
    drop: () => (dropped ??= dropSchema(schema)),
  };
}

/** Drops a schema created by a test (also one that migrate() created from `?schema=`). */
export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`drop schema if exists ${pg.escapeIdentifier(schema)} cascade`);
}
