// The one configuration module: every setting read from the environment, validated at start.
// Each problem names its setting; all problems are reported at once.
import { isIP } from "node:net";
import { DEV_JWT_SECRET, envSchema } from "./env.js";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export type AuthConfig =
  | {
      mode: "secret";
      secret: string;
      issuer: string | undefined;
      audience: string | undefined;
      /** The secret is the built-in DEV_JWT_SECRET (AUTH_JWT_SECRET unset, or set to it): development only. */
      isDevDefault: boolean;
    }
  | { mode: "jwks"; jwksUrl: string; issuer: string; audience: string };

export interface Config {
  env: "development" | "production" | "test";
  http: { host: string; port: number };
  oicp: {
    host: string;
    port: number;
    pathPrefix: string;
    maxBodyBytes: number;
    /** Mutual TLS for what Hubject calls; null = plain HTTP (local development only). */
    tls: { certFile: string; keyFile: string; clientCaFile: string; allowedSubjects: string[]; reloadIntervalMs: number } | null;
    /** Source addresses or CIDR ranges allowed to call; empty = any. */
    allowedIps: string[];
  };
  graphql: {
    maxBodyBytes: number;
    limits: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number; maxDirectives: number };
    /** allow-list: only operations in the persisted-query file run (production clients). */
    persistedQueries: { mode: "off" } | { mode: "allow-list"; file: string };
    introspection: boolean;
    /** jit: queries and mutations over HTTP run compiled (graphql-jit); graphql-js: interpreted. */
    execution: "jit" | "graphql-js";
    /** Open subscriptions per websocket, per driver and per process (server/subscription-limits.ts). */
    subscriptionLimits: { perSocket: number; perDriver: number; perProcess: number };
    /** Browser origins that may call /graphql and open its websocket (server/cors.ts); localhost: any localhost origin too. */
    cors: { origins: string[]; allowLocalhost: boolean };
  };
  rateLimits: { mutationsPerDriverPerMinute: number; remoteStartsPerMinute: number };
  /** Apollo Federation: the routers' subscription callback URLs (empty = HTTP callbacks off). */
  federation: { subscriptionCallbackUrls: string[] };
  /** SQLite file path or a database URL (postgres:// for several replicas). */
  databaseUrl: string;
  /** Decoded sessions kept in memory for session lists, re-checked against the store's version on every read; 0 = off. */
  sessionCacheSize: number;
  /** Redis for fan-out and shared rate limits across replicas; null = in-process. */
  redis: { url: string; channelPrefix: string } | null;
  metrics: boolean;
  /** OpenTelemetry over OTLP/HTTP; endpoint null = tracing off. */
  tracing: { endpoint: string | null; serviceName: string };
  /** How long a shutdown waits for in-flight HTTP requests before closing their connections. */
  shutdownGraceMs: number;
  hubject:
    | { mode: "remote"; baseUrl: string; providerId: string; tls: { certFile?: string; keyFile?: string; caFile?: string } }
    | {
        mode: "simulator";
        providerId: string;
        simulatorPort: number;
        pace: { startDelayMs: number; progressIntervalMs: number; cdrDelayMs: number };
      };
  hubjectTimeouts: { remoteMs: number; requestMs: number };
  /** Keep-alive sockets to Hubject (per protocol agent). */
  hubjectMaxSockets: number;
  hubjectResilience: { retryAttempts: number; breakerFailures: number; breakerHalfOpenAfterMs: number };
  sessionMatchWindowMs: number;
  /** How long startCharging/stopCharging wait for Hubject before answering with the session as it stands. */
  mutationWaitMs: number;
  staleAfterMs: number;
  /** EVSE status reads: Hubject's budget, the shared cache, and what one request or driver may read (src/evse-status). */
  evseStatus: {
    /** Reads of concurrent requests within this window share Hubject calls (0: the same tick only). */
    windowMs: number;
    callsPerMinute: number;
    cacheMs: number;
    staleMaxMs: number;
    maxIdsPerRequest: number;
    readsPerDriverPerMinute: number;
  };
  /** Intervals of 0 turn a job off. */
  jobs: {
    reconcileIntervalMs: number;
    reconcileGiveUpMs: number;
    reconcileMaxStatusCalls: number;
    cdrBackfillIntervalMs: number;
    cdrBackfillLookbackMs: number;
    stopSettleAfterMs: number;
    inboundRetentionDays: number;
    inboundRetentionIntervalMs: number;
  };
  auth: AuthConfig;
  /** The identifications registry and authorization at the charger (src/identifications). */
  identifications: {
    /** A token whose `roles` claim holds this may manage every driver's identifications. */
    operatorRole: string;
    /** online: answer AuthorizeStart/Stop; offline: push identifications to Hubject; both. */
    authorizationMode: "online" | "offline" | "both";
    cacheMs: number;
    cacheSize: number;
    pushIntervalMs: number;
    pushBatch: number;
    pinHashCost: number;
  };
  sandbox: boolean;
  logLevel: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const production = e.NODE_ENV === "production";

  let auth: AuthConfig;
  if (e.AUTH_JWKS_URL) {
    if (!e.AUTH_ISSUER) problems.push("AUTH_ISSUER: required with AUTH_JWKS_URL (tokens are checked against it)");
    if (!e.AUTH_AUDIENCE) problems.push("AUTH_AUDIENCE: required with AUTH_JWKS_URL (tokens are checked against it)");
    auth = { mode: "jwks", jwksUrl: e.AUTH_JWKS_URL, issuer: e.AUTH_ISSUER ?? "", audience: e.AUTH_AUDIENCE ?? "" };
  } else if (e.AUTH_JWT_SECRET) {
    // The built-in secret is in the source: whoever reads it can sign any driver's token.
    const isDevDefault = e.AUTH_JWT_SECRET === DEV_JWT_SECRET;
    if (production && isDevDefault) {
      problems.push("AUTH_JWT_SECRET: the built-in development secret is not allowed when NODE_ENV=production; set a secret of your own");
    }
    auth = { mode: "secret", secret: e.AUTH_JWT_SECRET, issuer: e.AUTH_ISSUER, audience: e.AUTH_AUDIENCE, isDevDefault };
  } else {
    if (production) problems.push("AUTH_JWKS_URL or AUTH_JWT_SECRET: one is required when NODE_ENV=production");
    auth = { mode: "secret", secret: DEV_JWT_SECRET, issuer: e.AUTH_ISSUER, audience: e.AUTH_AUDIENCE, isDevDefault: true };
  }

  let hubject: Config["hubject"];
  if (e.HUBJECT_BASE_URL) {
    if (!e.HUBJECT_PROVIDER_ID) problems.push("HUBJECT_PROVIDER_ID: required with HUBJECT_BASE_URL");
    if (Boolean(e.HUBJECT_CLIENT_CERT) !== Boolean(e.HUBJECT_CLIENT_KEY)) {
      problems.push("HUBJECT_CLIENT_CERT and HUBJECT_CLIENT_KEY: set both or neither (mutual TLS needs the pair)");
    }
    if (production && e.HUBJECT_BASE_URL.startsWith("https") && !e.HUBJECT_CLIENT_CERT) {
      problems.push("HUBJECT_CLIENT_CERT: Hubject requires mutual TLS; set the client certificate issued during onboarding");
    }
    hubject = {
      mode: "remote",
      baseUrl: e.HUBJECT_BASE_URL.replace(/\/+$/, ""),
      providerId: e.HUBJECT_PROVIDER_ID ?? "",
      tls: { certFile: e.HUBJECT_CLIENT_CERT, keyFile: e.HUBJECT_CLIENT_KEY, caFile: e.HUBJECT_CA },
    };
  } else {
    if (production) problems.push("HUBJECT_BASE_URL: required when NODE_ENV=production (the built-in simulator is for development)");
    hubject = {
      mode: "simulator",
      providerId: e.HUBJECT_PROVIDER_ID ?? "DE-GQL",
      simulatorPort: e.SIMULATOR_PORT,
      pace: {
        startDelayMs: e.SIMULATOR_START_DELAY_MS,
        progressIntervalMs: e.SIMULATOR_PROGRESS_INTERVAL_MS,
        cdrDelayMs: e.SIMULATOR_CDR_DELAY_MS,
      },
    };
  }
  const oicpTls = [e.OICP_TLS_CERT, e.OICP_TLS_KEY, e.OICP_TLS_CLIENT_CA];
  const oicpTlsComplete = oicpTls.every((v) => v !== undefined);
  if (oicpTls.some((v) => v !== undefined) && !oicpTlsComplete) {
    problems.push("OICP_TLS_CERT, OICP_TLS_KEY and OICP_TLS_CLIENT_CA: set all three (the listener verifies Hubject's client certificate)");
  }
  // Plain HTTP for what Hubject calls: only when asked for, or by default next to the built-in simulator.
  const allowPlain = e.OICP_ALLOW_PLAIN_HTTP ?? (!production && hubject.mode === "simulator");
  if (!oicpTlsComplete && !allowPlain) {
    problems.push(
      "OICP_TLS_CERT, OICP_TLS_KEY, OICP_TLS_CLIENT_CA: required so that only Hubject can call the OICP listener (OICP_ALLOW_PLAIN_HTTP=true for local development only)",
    );
  }
  if (oicpTlsComplete && hubject.mode === "simulator") {
    problems.push("OICP_TLS_CERT: the built-in simulator posts over plain HTTP; unset the OICP_TLS_* settings or set HUBJECT_BASE_URL");
  }
  if (production && e.OICP_ALLOW_PLAIN_HTTP === true) {
    problems.push("OICP_ALLOW_PLAIN_HTTP: not allowed when NODE_ENV=production");
  }
  for (const entry of e.SUBSCRIPTION_CALLBACK_URLS) {
    if (!URL.canParse(entry) || !["http:", "https:"].includes(new URL(entry).protocol))
      problems.push(`SUBSCRIPTION_CALLBACK_URLS: "${entry}" is not an http(s) URL`);
  }
  for (const entry of e.CORS_ORIGINS) {
    const canonical = URL.canParse(entry) ? new URL(entry).origin : null;
    if (!canonical || !/^https?:/.test(canonical) || canonical !== entry.replace(/\/$/, "").toLowerCase()) {
      problems.push(`CORS_ORIGINS: "${entry}" is not an origin like https://app.example.com (scheme, host, optional port; no path)`);
    }
  }
  for (const entry of e.OICP_ALLOWED_IPS) {
    if (!isIpOrCidr(entry)) problems.push(`OICP_ALLOWED_IPS: "${entry}" is not an IP address or CIDR range`);
  }
  if (e.GRAPHQL_PERSISTED_QUERIES === "allow-list" && !e.GRAPHQL_PERSISTED_QUERIES_FILE) {
    problems.push("GRAPHQL_PERSISTED_QUERIES_FILE: required with GRAPHQL_PERSISTED_QUERIES=allow-list");
  }
  if (e.EVSE_STATUS_STALE_MAX_MS < e.EVSE_STATUS_CACHE_MS) {
    problems.push("EVSE_STATUS_STALE_MAX_MS: must be at least EVSE_STATUS_CACHE_MS (a fresh entry is kept at least as long)");
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    http: { host: e.HOST, port: e.PORT },
    oicp: {
      host: e.OICP_HOST,
      port: e.OICP_PORT,
      pathPrefix: e.OICP_PATH_PREFIX,
      maxBodyBytes: e.OICP_MAX_BODY_BYTES,
      tls: oicpTlsComplete
        ? {
            certFile: e.OICP_TLS_CERT!,
            keyFile: e.OICP_TLS_KEY!,
            clientCaFile: e.OICP_TLS_CLIENT_CA!,
            allowedSubjects: e.OICP_TLS_ALLOWED_SUBJECTS,
            reloadIntervalMs: e.OICP_TLS_RELOAD_INTERVAL_MS,
          }
        : null,
      allowedIps: e.OICP_ALLOWED_IPS,
    },
    graphql: {
      maxBodyBytes: e.HTTP_MAX_BODY_BYTES,
      limits: {
        maxDepth: e.GRAPHQL_MAX_DEPTH,
        maxAliases: e.GRAPHQL_MAX_ALIASES,
        maxTokens: e.GRAPHQL_MAX_TOKENS,
        maxCost: e.GRAPHQL_MAX_COST,
        maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      },
      persistedQueries:
        e.GRAPHQL_PERSISTED_QUERIES === "allow-list" ? { mode: "allow-list", file: e.GRAPHQL_PERSISTED_QUERIES_FILE! } : { mode: "off" },
      introspection: e.INTROSPECTION_ENABLED ?? e.SANDBOX_ENABLED ?? !production,
      execution: e.GRAPHQL_EXECUTION,
      subscriptionLimits: {
        perSocket: e.SUBSCRIPTION_MAX_PER_SOCKET,
        perDriver: e.SUBSCRIPTION_MAX_PER_DRIVER,
        perProcess: e.SUBSCRIPTION_MAX_PER_PROCESS,
      },
      // Unset: any localhost origin in development (a Vite dev server), none in production.
      cors: {
        origins: e.CORS_ORIGINS.map((o) => o.replace(/\/$/, "").toLowerCase()),
        allowLocalhost: !production && e.CORS_ORIGINS.length === 0,
      },
    },
    federation: { subscriptionCallbackUrls: e.SUBSCRIPTION_CALLBACK_URLS },
    rateLimits: {
      mutationsPerDriverPerMinute: e.RATE_LIMIT_MUTATIONS_PER_MINUTE,
      remoteStartsPerMinute: e.RATE_LIMIT_REMOTE_STARTS_PER_MINUTE,
    },
    databaseUrl: e.DATABASE_URL ?? "./data/gateway.sqlite",
    sessionCacheSize: e.SESSION_CACHE_SIZE,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, channelPrefix: e.REDIS_CHANNEL_PREFIX } : null,
    metrics: e.METRICS_ENABLED ?? true,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, serviceName: e.OTEL_SERVICE_NAME ?? "emp-charging-gateway" },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    hubject,
    hubjectTimeouts: { remoteMs: e.HUBJECT_REMOTE_TIMEOUT_MS, requestMs: e.HUBJECT_REQUEST_TIMEOUT_MS },
    hubjectMaxSockets: e.HUBJECT_MAX_SOCKETS,
    hubjectResilience: {
      retryAttempts: e.HUBJECT_RETRY_ATTEMPTS,
      breakerFailures: e.HUBJECT_BREAKER_FAILURES,
      breakerHalfOpenAfterMs: e.HUBJECT_BREAKER_HALF_OPEN_MS,
    },
    sessionMatchWindowMs: e.SESSION_MATCH_WINDOW_MS,
    mutationWaitMs: e.MUTATION_WAIT_MS,
    staleAfterMs: e.SESSION_STALE_AFTER_MS,
    evseStatus: {
      windowMs: e.EVSE_STATUS_WINDOW_MS,
      callsPerMinute: e.HUBJECT_EVSE_STATUS_CALLS_PER_MINUTE,
      cacheMs: e.EVSE_STATUS_CACHE_MS,
      staleMaxMs: e.EVSE_STATUS_STALE_MAX_MS,
      maxIdsPerRequest: e.EVSE_MAX_IDS_PER_REQUEST,
      readsPerDriverPerMinute: e.RATE_LIMIT_EVSE_READS_PER_MINUTE,
    },
    jobs: {
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
      reconcileGiveUpMs: e.RECONCILE_GIVE_UP_MS,
      reconcileMaxStatusCalls: e.RECONCILE_MAX_STATUS_CALLS,
      cdrBackfillIntervalMs: e.CDR_BACKFILL_INTERVAL_MS,
      cdrBackfillLookbackMs: e.CDR_BACKFILL_LOOKBACK_MS,
      stopSettleAfterMs: e.STOP_SETTLE_AFTER_MS,
      inboundRetentionDays: e.INBOUND_RETENTION_DAYS,
      inboundRetentionIntervalMs: e.INBOUND_RETENTION_INTERVAL_MS,
    },
    auth,
    identifications: {
      operatorRole: e.OPERATOR_ROLE,
      authorizationMode: e.HUBJECT_AUTHORIZATION_MODE,
      cacheMs: e.IDENTIFICATION_CACHE_MS,
      cacheSize: e.IDENTIFICATION_CACHE_SIZE,
      pushIntervalMs: e.IDENTIFICATION_PUSH_INTERVAL_MS,
      pushBatch: e.IDENTIFICATION_PUSH_BATCH,
      pinHashCost: e.PIN_HASH_COST,
    },
    sandbox: e.SANDBOX_ENABLED ?? !production,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === "test" ? "silent" : "info"),
  };
}

/** An IPv4/IPv6 address, optionally with a /prefix. */
function isIpOrCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split("/");
  if (rest.length > 0 || !address) return false;
  const version = isIP(address);
  if (version === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return Number.isInteger(bits) && bits >= 0 && bits <= (version === 4 ? 32 : 128) && /^\d+$/.test(prefix);
}
