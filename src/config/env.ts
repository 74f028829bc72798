// The environment variables the gateway reads: types, limits and defaults (from defaults.ts).
// config.ts turns the parsed environment into a Config and checks what spans several settings.
import { existsSync } from "node:fs";
import { z } from "zod";
import { isProviderId } from "../oicp/wire/identifiers.js";
import { CPO_REMOTE_WINDOW_MS, DEFAULTS } from "./defaults.js";

/** The built-in development secret (never accepted in production). */
export const DEV_JWT_SECRET = "dev-only-secret-do-not-use-in-production-0123456789";

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const ms = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const flag = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes")
  .optional();
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
const existingFile = optionalText.refine((v) => v === undefined || existsSync(v), { message: "file does not exist" });
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** The environment as the gateway reads it: each variable, its type, its limits and its default. */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().default("0.0.0.0"),
  PORT: port(DEFAULTS.port),
  OICP_HOST: z.string().default("0.0.0.0"),
  OICP_PORT: port(DEFAULTS.oicpPort),
  OICP_PATH_PREFIX: z
    .string()
    .default("")
    .refine((v) => v === "" || (v.startsWith("/") && !v.endsWith("/")), {
      message: 'must be empty or a path like "/oicp" (leading slash, no trailing slash)',
    }),
  OICP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(DEFAULTS.oicpMaxBodyBytes),
  OICP_TLS_CERT: existingFile,
  OICP_TLS_KEY: existingFile,
  OICP_TLS_CLIENT_CA: existingFile,
  OICP_TLS_ALLOWED_SUBJECTS: list,
  OICP_ALLOWED_IPS: list,
  SUBSCRIPTION_CALLBACK_URLS: list,
  CORS_ORIGINS: list,
  OICP_ALLOW_PLAIN_HTTP: flag,
  OICP_TLS_RELOAD_INTERVAL_MS: z.coerce.number().int().min(0).default(DEFAULTS.oicpTlsReloadIntervalMs),
  HTTP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(DEFAULTS.httpMaxBodyBytes),
  GRAPHQL_MAX_DEPTH: positiveInt(DEFAULTS.graphqlLimits.maxDepth),
  GRAPHQL_MAX_ALIASES: positiveInt(DEFAULTS.graphqlLimits.maxAliases),
  GRAPHQL_MAX_TOKENS: positiveInt(DEFAULTS.graphqlLimits.maxTokens),
  GRAPHQL_MAX_COST: positiveInt(DEFAULTS.graphqlLimits.maxCost),
  GRAPHQL_MAX_DIRECTIVES: positiveInt(DEFAULTS.graphqlLimits.maxDirectives),
  SUBSCRIPTION_MAX_PER_SOCKET: positiveInt(DEFAULTS.subscriptionLimits.perSocket),
  SUBSCRIPTION_MAX_PER_DRIVER: positiveInt(DEFAULTS.subscriptionLimits.perDriver),
  SUBSCRIPTION_MAX_PER_PROCESS: positiveInt(DEFAULTS.subscriptionLimits.perProcess),
  GRAPHQL_PERSISTED_QUERIES: z.enum(["off", "allow-list"]).default("off"),
  GRAPHQL_PERSISTED_QUERIES_FILE: existingFile,
  INTROSPECTION_ENABLED: flag,
  GRAPHQL_EXECUTION: z.enum(["jit", "graphql-js"]).default("jit"),
  RATE_LIMIT_MUTATIONS_PER_MINUTE: positiveInt(DEFAULTS.mutationsPerDriverPerMinute),
  RATE_LIMIT_REMOTE_STARTS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .max(100, { message: "must be at most 100: Hubject allows 100 AuthorizeRemoteStart calls a minute for the whole EMP" })
    .default(DEFAULTS.remoteStartsPerMinute),
  DATABASE_URL: optionalText,
  SESSION_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULTS.sessionCacheSize),
  REDIS_URL: optionalText.refine((v) => v === undefined || /^rediss?:\/\/.+/.test(v), { message: "must be a redis:// or rediss:// URL" }),
  REDIS_CHANNEL_PREFIX: z.string().default(DEFAULTS.redisChannelPrefix),
  METRICS_ENABLED: flag,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.refine((v) => v === undefined || /^https?:\/\/.+/.test(v), {
    message: "must be the http(s) base URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318",
  }),
  OTEL_SERVICE_NAME: optionalText,
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(DEFAULTS.shutdownGraceMs),
  HUBJECT_BASE_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/.+/.test(v), {
    message: "must be an http(s) URL such as https://service-qa.hubject.com/api/oicp",
  }),
  HUBJECT_PROVIDER_ID: optionalText.refine((v) => v === undefined || isProviderId(v), {
    message: "must be an OICP ProviderID such as DE-ABC or DE*ABC, exactly as registered with Hubject",
  }),
  HUBJECT_CLIENT_CERT: existingFile,
  HUBJECT_CLIENT_KEY: existingFile,
  HUBJECT_CA: existingFile,
  HUBJECT_REMOTE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .refine((v) => v > CPO_REMOTE_WINDOW_MS, { message: "must be above 60000: the CPO has 60 s to answer a remote start/stop" })
    .default(DEFAULTS.hubjectRemoteTimeoutMs),
  HUBJECT_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(DEFAULTS.hubjectRequestTimeoutMs),
  HUBJECT_MAX_SOCKETS: z.coerce
    .number()
    .int()
    .min(100, { message: "must be at least 100: every one of the EMP's 100 remote starts a minute may hold a socket for up to 60 s" })
    .max(4_096)
    .default(DEFAULTS.hubjectMaxSockets),
  SESSION_MATCH_WINDOW_MS: ms(DEFAULTS.sessionMatchWindowMs),
  MUTATION_WAIT_MS: ms(DEFAULTS.mutationWaitMs),
  EVSE_STATUS_WINDOW_MS: z.coerce.number().int().min(0).max(1_000).default(DEFAULTS.evseStatusWindowMs),
  HUBJECT_EVSE_STATUS_CALLS_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .max(300, { message: "must be at most 300: Hubject allows 300 PullEvseStatusById calls a minute for the whole EMP" })
    .default(DEFAULTS.evseStatusCallsPerMinute),
  EVSE_STATUS_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(DEFAULTS.evseStatusCacheMs),
  EVSE_STATUS_STALE_MAX_MS: z.coerce.number().int().min(0).max(86_400_000).default(DEFAULTS.evseStatusStaleMaxMs),
  EVSE_MAX_IDS_PER_REQUEST: z.coerce.number().int().min(1).max(1_000).default(DEFAULTS.evseMaxIdsPerRequest),
  RATE_LIMIT_EVSE_READS_PER_MINUTE: positiveInt(DEFAULTS.evseReadsPerDriverPerMinute),
  SESSION_STALE_AFTER_MS: z.coerce.number().int().min(1_000).default(DEFAULTS.sessionStaleAfterMs),
  RECONCILE_INTERVAL_MS: ms(DEFAULTS.reconcileIntervalMs),
  RECONCILE_GIVE_UP_MS: z.coerce
    .number()
    .int()
    .min(60_000, { message: "must be at least 60000: the CPO alone may take 60 s" })
    .default(DEFAULTS.reconcileGiveUpMs),
  RECONCILE_MAX_STATUS_CALLS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100, { message: "must be at most 100 per run (Hubject allows 300 PullEvseStatusById calls a minute)" })
    .default(DEFAULTS.reconcileMaxStatusCalls),
  CDR_BACKFILL_INTERVAL_MS: ms(DEFAULTS.cdrBackfillIntervalMs),
  CDR_BACKFILL_LOOKBACK_MS: z.coerce.number().int().min(60_000).default(DEFAULTS.cdrBackfillLookbackMs),
  STOP_SETTLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(60_000, { message: "must be at least 60000: the CPO alone may take 60 s to answer a stop" })
    .default(DEFAULTS.stopSettleAfterMs),
  OPERATOR_ROLE: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/, { message: "must be a role name (letters, digits, _ . : -)" })
    .default(DEFAULTS.operatorRole),
  HUBJECT_AUTHORIZATION_MODE: z.enum(["online", "offline", "both"]).default(DEFAULTS.authorizationMode),
  IDENTIFICATION_CACHE_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULTS.identificationCacheMs),
  IDENTIFICATION_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(DEFAULTS.identificationCacheSize),
  IDENTIFICATION_PUSH_INTERVAL_MS: ms(DEFAULTS.identificationPushIntervalMs),
  IDENTIFICATION_PUSH_BATCH: z.coerce.number().int().min(1).max(10_000).default(DEFAULTS.identificationPushBatch),
  PIN_HASH_COST: z.coerce.number().int().min(4).max(15).default(DEFAULTS.pinHashCost),
  INBOUND_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(DEFAULTS.inboundRetentionDays),
  INBOUND_RETENTION_INTERVAL_MS: ms(DEFAULTS.inboundRetentionIntervalMs),
  HUBJECT_RETRY_ATTEMPTS: z.coerce.number().int().min(0).max(10).default(DEFAULTS.hubjectRetryAttempts),
  HUBJECT_BREAKER_FAILURES: z.coerce.number().int().min(1).default(DEFAULTS.hubjectBreakerFailures),
  HUBJECT_BREAKER_HALF_OPEN_MS: z.coerce.number().int().min(100).default(DEFAULTS.hubjectBreakerHalfOpenMs),
  // Bytes, not characters: HS256 keys with the secret's UTF-8 bytes (config.ts refuses DEV_JWT_SECRET in production).
  AUTH_JWT_SECRET: optionalText.refine((v) => v === undefined || Buffer.byteLength(v, "utf8") >= 32, {
    message: "must be at least 32 bytes (UTF-8)",
  }),
  AUTH_JWKS_URL: optionalText.refine((v) => v === undefined || /^https?:\/\/.+/.test(v), { message: "must be an http(s) URL" }),
  AUTH_ISSUER: optionalText,
  AUTH_AUDIENCE: optionalText,
  SANDBOX_ENABLED: flag,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  SIMULATOR_PORT: port(DEFAULTS.simulatorPort),
  SIMULATOR_START_DELAY_MS: ms(DEFAULTS.simulatorPace.startDelayMs),
  SIMULATOR_PROGRESS_INTERVAL_MS: ms(DEFAULTS.simulatorPace.progressIntervalMs),
  SIMULATOR_CDR_DELAY_MS: ms(DEFAULTS.simulatorPace.cdrDelayMs),
});

export type Env = z.infer<typeof envSchema>;
