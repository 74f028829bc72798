import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: a migration runs against the schema as it was then, not today's typed one (Kysely's own idiom).
export type MigrationDb = Kysely<any>;
