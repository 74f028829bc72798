// Offline authorization (docs/oicp.md#push-authentication-data): keeps what Hubject holds of the
// EMP's identifications equal to the registry's ACTIVE ones, with eRoamingPushAuthenticationData.
// A full load when nothing was ever pushed or Hubject's copy is in doubt; deltas (insert, update,
// delete) from the store's pending rows otherwise. What Hubject holds of each identification is
// the hash of the record last accepted (PushState.pushedHash), so a delta is always computed
// from the store, never from memory: a push that failed is simply computed again next run.
//
// Pushes go strictly one at a time (docs/oicp.md#transport) and at most callsPerMinute a minute
// (the AUP's 50, docs/oicp.md#rate-limits), counted here across full loads and deltas alike.
// Logs carry identification ids, masked UIDs and redacted EvcoIDs: never a PIN, a hash or a full UID.
import { createHash } from "node:crypto";
import { type Logger, redactEvcoId } from "../logger.js";
import { type OicpIdentification, toOicpIdentification } from "../oicp/wire/identification.js";
import { evcoIdKey } from "../oicp/wire/identifiers.js";
import type { Clock } from "../sessions/ports.js";
import type { StatusCode } from "../sessions/session.js";
import { effectiveStatus, type Identification, maskUid } from "./identification.js";
import type { IdentificationStore, PushState } from "./ports.js";

// ---- The port: eRoamingPushAuthenticationData v2.1 (implemented by the Hubject datasource) ----

export const PUSH_ACTIONS = ["fullLoad", "insert", "update", "delete"] as const;
export type PushAction = (typeof PUSH_ACTIONS)[number];

/** How one push went, as far as the gateway can know. */
export type PushOutcome =
  | { kind: "accepted"; processId: string | null }
  /** Hubject answered Result false: nothing of the request was applied. `retryable`: from the one status-code mapping. */
  | { kind: "refused"; status: StatusCode; retryable: boolean; processId: string | null }
  /** Certainly not applied: not sent (circuit open, Retry-After, invalid locally), unreachable, HTTP 400/401/403/404/429. */
  | { kind: "failed"; reason: string; status: StatusCode | null; detail: string; processId: string | null }
  /** May have been applied: timeout, connection lost, 408/5xx, an unreadable answer. */
  | { kind: "unknown"; reason: string; detail: string; processId: string | null };

export interface AuthenticationDataPush {
  /** The ProviderID every EvcoID must belong to (HUBJECT_PROVIDER_ID). */
  readonly providerId: string;
  /** One push; the adapter never has two in flight. */
  pushAuthenticationData(action: PushAction, identifications: readonly OicpIdentification[]): Promise<PushOutcome>;
}

/** Outcomes for metrics (src/observability/metrics.ts identificationPushMetrics). */
export interface IdentificationPushMetrics {
  call(action: PushAction, outcome: PushOutcome["kind"]): void;
  /** Records Hubject accepted, per action. */
  records(action: PushAction, count: number): void;
}

// ---------------------------------------------------------------------------------------------

export type PushStore = Pick<IdentificationStore, "pendingPush" | "allForPush" | "markPushed" | "markAllPending">;

export interface IdentificationPusherDeps {
  store: PushStore;
  hubject: AuthenticationDataPush;
  clock: Clock;
  logger: Logger;
  metrics?: IdentificationPushMetrics | null;
  /** Records per call (IDENTIFICATION_PUSH_BATCH). */
  batchSize: number;
  /** The AUP's budget for PushAuthenticationData (DEFAULTS.identificationPushCallsPerMinute). */
  callsPerMinute: number;
  /** Waits for the rate limit; resolves early when `signal` aborts. Tests pass a controlled clock's. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The longest time between two looks for records Hubject holds that should go without a change of their own (an expiry). */
  sweepIntervalMs?: number;
}

/** What one run did. */
export interface PushReport {
  fullLoad: boolean;
  calls: number;
  /** Records Hubject accepted, per action. */
  records: Record<PushAction, number>;
  /** False when a push failed or was refused and work is left for the next run. */
  complete: boolean;
}

type Row = Identification & PushState;
type Step = "done" | "stopped" | "doubt";

const WINDOW_MS = 60_000;
/** A version no row has: markPushed records what Hubject holds and leaves the row pending. */
const NOT_PUSHED = -1;
const DEFAULT_SWEEP_INTERVAL_MS = 60 * 60_000;
/** At most this many identifications named in one log line. */
const LOG_LIST_MAX = 20;

export class IdentificationPusher {
  /** undefined until the first run looked whether anything was ever pushed. */
  private needsFullLoad: boolean | undefined;
  /** Ids Hubject refused with 019, by the version refused: left out of full loads until they change. */
  private readonly refusedEvco = new Map<string, number>();
  /** Start times (epoch ms, deps.clock) of the calls of the last minute. */
  private readonly callTimes: number[] = [];
  /** When to look next for held records that should go (expiries); 0: at the next run. */
  private nextSweepAt = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly abort = new AbortController();
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly sweepIntervalMs: number;

  constructor(private readonly deps: IdentificationPusherDeps) {
    if (!Number.isInteger(deps.batchSize) || deps.batchSize < 1) throw new RangeError(`batchSize must be >= 1, got ${deps.batchSize}`);
    if (!Number.isInteger(deps.callsPerMinute) || deps.callsPerMinute < 1) {
      throw new RangeError(`callsPerMinute must be >= 1, got ${deps.callsPerMinute}`);
    }
    this.sleep = deps.sleep ?? realSleep;
    this.sweepIntervalMs = deps.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  }

  /** The job: a full load when one is due (nothing ever pushed, or Hubject's copy in doubt), then the deltas. */
  run(): Promise<PushReport> {
    return this.exclusive(async (report) => {
      this.needsFullLoad ??= await this.nothingEverPushed();
      if (this.needsFullLoad && (await this.doFullLoad(report)) !== "done") return;
      const step = await this.doPushChanges(report);
      // "Full load next": in this run if it did not do one already, else in the next (never a loop).
      if (step === "doubt" && !report.fullLoad) await this.doFullLoad(report);
    });
  }

  /** Sends every ACTIVE identification as Hubject's whole set (operators, `npm run -s identifications:push -- --full-load`). */
  fullLoad(): Promise<PushReport> {
    return this.exclusive((report) => this.doFullLoad(report).then(() => undefined));
  }

  /** Sends what changed since the last push (and deletes what expired meanwhile). */
  pushChanges(): Promise<PushReport> {
    return this.exclusive((report) => this.doPushChanges(report).then(() => undefined));
  }

  /** Ends a wait for the rate limit at once; later runs stop before their next call. */
  close(): void {
    this.abort.abort();
  }

  // ---- Full load ----------------------------------------------------------------------------

  private async doFullLoad(report: PushReport): Promise<Step> {
    report.fullLoad = true;
    const { store, batchSize } = this.deps;
    // Pass 1, before anything is sent. Everything is pending until this load has covered it.
    // Once the first call lands, Hubject holds only what this load sent: every record still to
    // be sent is marked "Hubject holds none" first, so that a crash midway leaves the store saying
    // so (the next leader inserts them, and an insert Hubject refuses leads to a full load again).
    // Records that will not be sent keep their hash until the first call is accepted: Hubject
    // may hold them until then, and a blocked card must never be forgotten while Hubject still
    // authorizes it. Version NOT_PUSHED records what Hubject holds without clearing the flag.
    await store.markAllPending();
    const heldUnwanted: Array<{ id: string; version: number; pushedHash: null }> = [];
    for (let after: string | null = null; ; ) {
      const page = await store.allForPush(after, batchSize);
      if (page.length === 0) break;
      const now = this.deps.clock.now();
      const toForget: Array<{ id: string; version: number; pushedHash: null }> = [];
      for (const row of page) {
        if (row.pushedHash === null) continue;
        (this.desired(row, now) ? toForget : heldUnwanted).push({ id: row.id, version: NOT_PUSHED, pushedHash: null });
      }
      await store.markPushed(toForget);
      after = page[page.length - 1]!.id;
    }

    // Pass 2. One call would be ideal; more than batchSize records need several, and Hubject
    // has no "continue the full load" action: the first call is a fullLoad (it replaces the whole
    // set) and the others are inserts into it. Between the first and the last call Hubject holds
    // only part of the set; records change meanwhile are caught by the next delta run.
    let first = true;
    let nextSweepAt = this.clockMs() + this.sweepIntervalMs;
    for (let after: string | null = null, ended = false; !ended; ) {
      const rows: Row[] = [];
      const sent: Row[] = [];
      const records: OicpIdentification[] = [];
      // Up to batchSize records per call; inactive rows in between are marked with their call.
      while (records.length < batchSize) {
        const page = await store.allForPush(after, batchSize - records.length);
        if (page.length === 0) {
          ended = true;
          break;
        }
        after = page[page.length - 1]!.id;
        const now = this.deps.clock.now();
        for (const row of page) {
          rows.push(row);
          const record = this.refusedEvco.get(row.id) === row.version ? null : this.desired(row, now);
          if (record) {
            records.push(record);
            sent.push(row);
          }
          if (record && row.expiresAt) nextSweepAt = Math.min(nextSweepAt, row.expiresAt.getTime());
        }
      }
      if (records.length === 0 && !first) {
        await store.markPushed(rows.map((row) => ({ id: row.id, version: row.version, pushedHash: null })));
        continue;
      }
      const action: PushAction = first ? "fullLoad" : "insert";
      const outcome = await this.send(action, records, report);
      if (outcome.kind !== "accepted") {
        const step = await this.failed(action, sent, outcome, "full load");
        this.needsFullLoad = true;
        return step === "doubt" ? "stopped" : step;
      }
      // The fullLoad replaced Hubject's whole set: what it held and we did not send is gone.
      if (first) await store.markPushed(heldUnwanted);
      first = false;
      await store.markPushed(this.results(rows));
    }
    this.needsFullLoad = false;
    this.nextSweepAt = nextSweepAt;
    this.deps.logger.info(
      { calls: report.calls, records: report.records.fullLoad + report.records.insert },
      "identifications: full load pushed to Hubject",
    );
    return "done";
  }

  // ---- Deltas -------------------------------------------------------------------------------

  private async doPushChanges(report: PushReport): Promise<Step> {
    const { store, batchSize } = this.deps;
    if (this.clockMs() >= this.nextSweepAt) {
      const step = await this.sweep(report);
      if (step !== "done") return step;
    }
    const seen = new Set<string>();
    for (;;) {
      const rows = await store.pendingPush(batchSize);
      // A row changed while it was pushed stays pending with its new version and comes again;
      // a page of nothing new ends the run (someone is changing rows faster than we push).
      const fresh = rows.filter((row) => !seen.has(`${row.id}:${row.version}`));
      if (fresh.length === 0) return "done";
      for (const row of fresh) seen.add(`${row.id}:${row.version}`);

      const now = this.deps.clock.now();
      const groups: Record<"insert" | "update" | "delete", Row[]> = { insert: [], update: [], delete: [] };
      const unchanged: Row[] = [];
      for (const row of fresh) {
        const record = this.desired(row, now);
        const hash = record ? hashOf(record) : null;
        if (hash === row.pushedHash) unchanged.push(row);
        else if (row.pushedHash === null) groups.insert.push(row);
        else if (hash === null) groups.delete.push(row);
        else groups.update.push(row);
      }
      await store.markPushed(unchanged.map((row) => ({ id: row.id, version: row.version, pushedHash: row.pushedHash })));
      // Deletes first: a card that moved to another row must leave before it comes back.
      for (const action of ["delete", "update", "insert"] as const) {
        for (let i = 0; i < groups[action].length; i += batchSize) {
          const step = await this.pushDelta(action, groups[action].slice(i, i + batchSize), report);
          if (step !== "done") return step;
        }
      }
    }
  }

  /** Deletes what Hubject holds but should not, with no change of its own to make it pending: an expiry passed. */
  private async sweep(report: PushReport): Promise<Step> {
    const { store, batchSize } = this.deps;
    let nextSweepAt = this.clockMs() + this.sweepIntervalMs;
    const unwanted: Row[] = [];
    for (let after: string | null = null; ; ) {
      const page = await store.allForPush(after, batchSize);
      if (page.length === 0) break;
      after = page[page.length - 1]!.id;
      const now = this.deps.clock.now();
      for (const row of page) {
        if (row.pushedHash === null) continue;
        if (!this.desired(row, now)) unwanted.push(row);
        else if (row.expiresAt) nextSweepAt = Math.min(nextSweepAt, row.expiresAt.getTime());
      }
    }
    for (let i = 0; i < unwanted.length; i += batchSize) {
      const step = await this.pushDelta("delete", unwanted.slice(i, i + batchSize), report);
      if (step !== "done") return step;
    }
    if (unwanted.length > 0) this.deps.logger.info({ deleted: unwanted.length }, "identifications: expired ones deleted at Hubject");
    this.nextSweepAt = nextSweepAt;
    return "done";
  }

  private async pushDelta(action: "insert" | "update" | "delete", rows: Row[], report: PushReport): Promise<Step> {
    if (rows.length === 0) return "done";
    const now = this.deps.clock.now();
    // A delete names the record Hubject holds by its credential; the current one names the same.
    const records = rows.map((row) => (action === "delete" ? toOicpIdentification(row) : this.desired(row, now)!));
    const outcome = await this.send(action, records, report);
    if (outcome.kind !== "accepted") return this.failed(action, rows, outcome, "delta");
    const results = action === "delete" ? rows.map((row) => ({ id: row.id, version: row.version, pushedHash: null })) : this.results(rows);
    await this.deps.store.markPushed(results);
    for (const row of rows) {
      if (action !== "delete" && row.expiresAt) this.nextSweepAt = Math.min(this.nextSweepAt, row.expiresAt.getTime());
    }
    return "done";
  }

  // ---- Outcomes -----------------------------------------------------------------------------

  private async failed(action: PushAction, rows: Row[], outcome: Exclude<PushOutcome, { kind: "accepted" }>, phase: string): Promise<Step> {
    const log = this.deps.logger;
    const context = { action, phase, records: rows.length, processId: outcome.processId };
    switch (outcome.kind) {
      case "refused": {
        const { status } = outcome;
        const described = { ...context, code: status.code, description: status.description, info: scrub(status.additionalInfo) };
        if (status.code === "019") {
          // Hubject names no record: the suspects are those whose EvcoID does not start with our
          // ProviderID (a sub-provider's may be fine, but Hubject refused the whole upload), or
          // all of them when none does. They wait until they change; the others go next run.
          const providerKey = evcoIdKey(this.deps.hubject.providerId);
          const foreign = rows.filter((row) => !evcoIdKey(row.evcoId).startsWith(providerKey));
          const suspects = foreign.length > 0 ? foreign : rows;
          for (const row of suspects) this.refusedEvco.set(row.id, row.version);
          log.error(
            {
              ...described,
              setting: "HUBJECT_PROVIDER_ID",
              providerId: this.deps.hubject.providerId,
              refused: suspects.slice(0, LOG_LIST_MAX).map(masked),
              refusedCount: suspects.length,
            },
            `Hubject refused identifications (019): their EvcoIDs do not belong to HUBJECT_PROVIDER_ID=${this.deps.hubject.providerId}; they are not pushed again until they change`,
          );
          if (phase === "delta") {
            // What Hubject holds of them is unchanged; they leave the pending list until they change.
            await this.deps.store.markPushed(suspects.map((row) => ({ id: row.id, version: row.version, pushedHash: row.pushedHash })));
          }
          return "stopped";
        }
        if ((action === "insert" || action === "update") && !outcome.retryable && status.code !== "017") {
          // An insert of a record Hubject has, or an update of one it lacks: our idea of what Hubject
          // holds is wrong somewhere. Only a full load makes it right (docs/oicp.md#push-authentication-data).
          log.warn(described, "identifications: Hubject's copy is in doubt (an insert or update was refused); a full load follows");
          await this.deps.store.markAllPending();
          this.needsFullLoad = true;
          return "doubt";
        }
        log[outcome.retryable ? "warn" : "error"](described, "identifications: Hubject refused the push; it is tried again next run");
        return "stopped";
      }
      case "failed":
        log[outcome.reason === "invalid-request" ? "error" : "warn"](
          { ...context, reason: outcome.reason, code: outcome.status?.code ?? null, detail: scrub(outcome.detail) },
          "identifications: push not applied; it is tried again next run",
        );
        return "stopped";
      case "unknown":
        // Re-sending the same delta is harmless (an insert that did land comes back as "exists",
        // which leads to a full load); the next run computes it again from the store.
        log.warn(
          { ...context, reason: outcome.reason, detail: scrub(outcome.detail) },
          "identifications: push outcome unknown; the next run sends it again",
        );
        return "stopped";
    }
  }

  // ---- Sending ------------------------------------------------------------------------------

  private async send(action: PushAction, records: OicpIdentification[], report: PushReport): Promise<PushOutcome> {
    await this.acquireCall();
    if (this.abort.signal.aborted) {
      return { kind: "failed", reason: "closed", status: null, detail: "the pusher was closed; nothing was sent", processId: null };
    }
    report.calls += 1;
    const outcome = await this.deps.hubject.pushAuthenticationData(action, records);
    this.deps.metrics?.call(action, outcome.kind);
    if (outcome.kind === "accepted") {
      report.records[action] += records.length;
      this.deps.metrics?.records(action, records.length);
      this.deps.logger.debug({ action, records: records.length, processId: outcome.processId }, "identifications: push accepted");
    } else {
      report.complete = false;
    }
    return outcome;
  }

  /** Waits until a call fits in the last minute's budget (a sliding window on deps.clock). */
  private async acquireCall(): Promise<void> {
    const { callsPerMinute } = this.deps;
    for (;;) {
      if (this.abort.signal.aborted) return;
      const now = this.clockMs();
      while (this.callTimes.length > 0 && this.callTimes[0]! <= now - WINDOW_MS) this.callTimes.shift();
      if (this.callTimes.length < callsPerMinute) {
        this.callTimes.push(now);
        return;
      }
      await this.sleep(this.callTimes[0]! + WINDOW_MS - now, this.abort.signal);
    }
  }

  // ---- Helpers ------------------------------------------------------------------------------

  /** The record Hubject should hold: ACTIVE ones only (an expiry passed makes it EXPIRED). */
  private desired(row: Identification, now: Date): OicpIdentification | null {
    return effectiveStatus(row, now) === "ACTIVE" ? toOicpIdentification(row) : null;
  }

  private results(rows: Row[]): Array<{ id: string; version: number; pushedHash: string | null }> {
    const now = this.deps.clock.now();
    return rows.map((row) => {
      const record = this.refusedEvco.get(row.id) === row.version ? null : this.desired(row, now);
      return { id: row.id, version: row.version, pushedHash: record ? hashOf(record) : null };
    });
  }

  /** True when no identification has ever been pushed: the first run on a fresh leader starts with a full load. */
  private async nothingEverPushed(): Promise<boolean> {
    for (let after: string | null = null; ; ) {
      const page = await this.deps.store.allForPush(after, this.deps.batchSize);
      if (page.length === 0) return true;
      if (page.some((row) => row.pushedHash !== null)) return false;
      after = page[page.length - 1]!.id;
    }
  }

  private clockMs(): number {
    return this.deps.clock.now().getTime();
  }

  /** Runs one thing at a time (the job, an operator's full load): pushes never overlap. */
  private exclusive(work: (report: PushReport) => Promise<unknown>): Promise<PushReport> {
    const report: PushReport = { fullLoad: false, calls: 0, records: { fullLoad: 0, insert: 0, update: 0, delete: 0 }, complete: true };
    const run = this.queue.then(() => work(report)).then(() => report);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** What Hubject holds of a record, by which the store knows whether it must be pushed again. */
export function hashOf(record: OicpIdentification): string {
  return createHash("sha256").update(JSON.stringify(record)).digest("hex");
}

const masked = (row: Identification) => ({ id: row.id, type: row.type, uid: maskUid(row.uid), evcoId: redactEvcoId(row.evcoId) });

/** Hubject's free text may echo what we sent: UIDs and hashes are masked before it reaches a log. */
function scrub(text: string | null): string | null {
  if (text === null) return null;
  return text.replace(/\$2[aby]\$[^\s"',;]*/g, "<hash>").replace(/\b[0-9A-Fa-f]{8,20}\b/g, (uid) => maskUid(uid) ?? "");
}

function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(ms, 0));
    timer.unref?.();
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
