// Every setting's default, written once. The environment schema (env.ts) uses them, and so do the
// components that can be built without a Config (tests, tools): they never carry their own.

/** Hubject gives the CPO 60 s to answer a remote start or stop (docs/oicp.md#cpo-window). */
export const CPO_REMOTE_WINDOW_MS = 60_000;

export const DEFAULTS = Object.freeze({
  port: 4000,
  oicpPort: 4001,
  simulatorPort: 4010,
  /** Largest inbound OICP body (OICP_MAX_BODY_BYTES). */
  oicpMaxBodyBytes: 1_048_576,
  oicpTlsReloadIntervalMs: 30_000,
  /** Largest GraphQL request body and websocket message (HTTP_MAX_BODY_BYTES). */
  httpMaxBodyBytes: 102_400,
  graphqlLimits: Object.freeze({ maxDepth: 10, maxAliases: 15, maxTokens: 2_000, maxCost: 5_000, maxDirectives: 20 }),
  /**
   * Open subscriptions (SUBSCRIPTION_MAX_PER_*). An app holds one or two per device: 20 per socket and
   * 50 per driver (all their sockets on one replica) are far above that. Per process, twice what
   * bench/RESULTS.md shows one replica serving (10,000 subscribers at 500 changes/s, about half a
   * core, 17 KiB each): 20,000 is about 340 MiB and a full core at that rate; past it, add replicas.
   */
  subscriptionLimits: Object.freeze({ perSocket: 20, perDriver: 50, perProcess: 20_000 }),
  mutationsPerDriverPerMinute: 10,
  /** Hubject's AuthorizeRemoteStart limit for the whole EMP (docs/oicp.md#rate-limits). */
  remoteStartsPerMinute: 100,
  sessionCacheSize: 10_000,
  redisChannelPrefix: "emp-gateway:",
  shutdownGraceMs: 10_000,
  /** Above the CPO's 60 s window, or the SessionID of a session that does start is lost (docs/oicp.md#e18). */
  hubjectRemoteTimeoutMs: 90_000,
  hubjectRequestTimeoutMs: 15_000,
  /** Each of the EMP's 100 starts a minute may hold a socket for up to 60 s (bench/RESULTS.md, start storm). */
  hubjectMaxSockets: 256,
  hubjectRetryAttempts: 3,
  hubjectBreakerFailures: 5,
  hubjectBreakerHalfOpenMs: 30_000,
  sessionMatchWindowMs: 15 * 60_000,
  mutationWaitMs: 8_000,
  evseStatusWindowMs: 5,
  /** Hubject's PullEvseStatusById limit for the whole EMP (docs/oicp.md#rate-limits). */
  evseStatusCallsPerMinute: 300,
  /** A cached EVSE status this young is served without a call (EVSE_STATUS_CACHE_MS). */
  evseStatusCacheMs: 10_000,
  /** An older one is still served, with its age, while no call can be made (EVSE_STATUS_STALE_MAX_MS). */
  evseStatusStaleMaxMs: 15 * 60_000,
  /** Distinct EVSEs one GraphQL request may read (EVSE_MAX_IDS_PER_REQUEST): one PullEvseStatusById call. */
  evseMaxIdsPerRequest: 100,
  /** Reads per driver a minute that need Hubject; past it, the cache only (RATE_LIMIT_EVSE_READS_PER_MINUTE). */
  evseReadsPerDriverPerMinute: 60,
  sessionStaleAfterMs: 15 * 60_000,
  reconcileIntervalMs: 30_000,
  reconcileGiveUpMs: 10 * 60_000,
  reconcileMaxStatusCalls: 5,
  cdrBackfillIntervalMs: 10 * 60_000,
  cdrBackfillLookbackMs: 48 * 3_600_000,
  /** A stop with no End or CDR this long after it was asked is checked and settled (STOP_SETTLE_AFTER_MS). */
  stopSettleAfterMs: 5 * 60_000,
  /** How long every inbound message is kept as received, for audits and billing disputes (INBOUND_RETENTION_DAYS). */
  inboundRetentionDays: 400,
  inboundRetentionIntervalMs: 6 * 3_600_000,
  /** The roles claim value that opens the operator mutations (OPERATOR_ROLE). */
  operatorRole: "emp-operator",
  /** online: Hubject asks us (AuthorizeStart); offline: we push our identifications; both (HUBJECT_AUTHORIZATION_MODE). */
  authorizationMode: "online" as "online" | "offline" | "both",
  /** How long a replica trusts what it read of an identification; a change invalidates it at once (IDENTIFICATION_CACHE_MS). */
  identificationCacheMs: 60_000,
  /** Identifications a replica keeps in its authorization cache, found and not found (IDENTIFICATION_CACHE_SIZE). */
  identificationCacheSize: 100_000,
  /** How often changes are pushed to Hubject in offline mode (IDENTIFICATION_PUSH_INTERVAL_MS). */
  identificationPushIntervalMs: 15_000,
  /** Records per PushAuthenticationData call (IDENTIFICATION_PUSH_BATCH). */
  identificationPushBatch: 1_000,
  /** Hubject's PushAuthenticationData limit for the whole EMP (docs/oicp.md#rate-limits). */
  identificationPushCallsPerMinute: 50,
  /** Dynamic pricing (src/pricing): a LastCall delta this often, a full load once a day (no delete markers). */
  pricingSyncIntervalMs: 15 * 60_000,
  pricingFullSyncEveryMs: 24 * 3_600_000,
  /** Hubject's limits for the whole EMP (docs/oicp.md#rate-limits); OperatorIDs per pricing request. */
  pricingProductCallsPerMinute: 300,
  evsePricingCallsPerMinute: 280,
  pricingOperatorsPerCall: 100,
  /** Bcrypt cost of stored QR-code PIN hashes (PIN_HASH_COST). */
  pinHashCost: 10,
  /** The simulated CPO's pace: what SIMULATOR_* set, and the rest (docs: README, the simulator). */
  simulatorPace: Object.freeze({
    answerDelayMs: 150,
    slowAnswerMs: 5_000,
    startDelayMs: 2_000,
    progressIntervalMs: 5_000,
    stopDelayMs: 500,
    cdrDelayMs: 1_000,
    autoStopAfterMs: null as number | null,
    powerKw: 11,
    timeScale: 60,
  }),
});
