// Leader lease: which gateway process runs the background jobs (reconciler, CDR backfill)
// when several serve one database. Call isLeader() right before each run of a job.
//
// PostgreSQL: a session-level advisory lock taken on a connection of its own (not from the
// store's pool, whose connections come and go). The lock lives exactly as long as that
// connection: close() or the process dying (the server sees the socket close) releases it,
// and pg_terminate_backend() takes it away. The lock key is the lease name within the URL's
// schema, so gateways on other schemas of the same database (other clusters, parallel tests)
// do not compete.
//
// SQLite: one process per file, so that process always leads.
import pg from "pg";
import type { Logger } from "../../logger.js";
import { parseSqlUrl, postgresClientConfig } from "./database.js";

export interface LeaderLease {
  /**
   * True while this process holds the lease. When it does not, tries to take it (one cheap,
   * non-blocking round trip). When it does, checks that its connection still answers: if that
   * connection failed, the lease may already be someone else's, so this returns false and the
   * next call reconnects and tries again. Never throws: database trouble means "not leader".
   */
  isLeader(): Promise<boolean>;
  /** Gives the lease up (ends its connection). isLeader() is false from then on. */
  close(): Promise<void>;
}

export type LeaderLogger = Pick<Logger, "info" | "warn">;

/** The lease's connection gives up on a round trip after this long (a silent network). */
const LEASE_QUERY_TIMEOUT_MS = 5_000;

export function createLeaderLease(url: string, name: string, logger: LeaderLogger): LeaderLease {
  if (name === "") throw new Error("Leader lease name is empty");
  const location = parseSqlUrl(url);
  if (location.flavor === "sqlite") return alwaysLeader();
  return new PostgresLeaderLease(location.url, name, logger);
}

function alwaysLeader(): LeaderLease {
  let closed = false;
  return {
    isLeader: () => Promise.resolve(!closed),
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

class PostgresLeaderLease implements LeaderLease {
  private client: pg.Client | null = null;
  private held = false;
  private closed = false;
  /** isLeader() and close() run one at a time: never two connections, never a lock taken twice. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly logger: LeaderLogger,
  ) {}

  isLeader(): Promise<boolean> {
    const run = this.queue.then(() => this.check());
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closed = true;
    const run = this.queue.then(async () => {
      const client = this.client;
      this.client = null;
      this.held = false;
      // Ending the session releases its advisory locks.
      if (client) await client.end().catch(() => undefined);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async check(): Promise<boolean> {
    if (this.closed) return false;
    let client = this.client;
    try {
      if (client === null) client = await this.connect();
      if (this.held) {
        // A session-level lock is held for as long as the session lives; the session answering is proof enough.
        await client.query("select 1");
        return this.client === client && this.held;
      }
      const { rows } = await client.query<{ locked: boolean }>(
        "select pg_try_advisory_lock(hashtextextended(coalesce(current_schema(), '') || '/' || $1::text, 0)) as locked",
        [this.name],
      );
      if (rows[0]?.locked === true && this.client === client) {
        this.held = true;
        this.logger.info({ lease: this.name }, "took the leader lease: background jobs run in this process");
      }
      return this.held;
    } catch (error) {
      if (client !== null) this.drop(client, error);
      else this.logger.warn({ err: error, lease: this.name }, "could not reach PostgreSQL for the leader lease; not leader for now");
      return false;
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      ...postgresClientConfig(this.url, {
        applicationName: `emp-gateway-leader:${this.name}`.slice(0, 63),
        statementTimeoutMs: LEASE_QUERY_TIMEOUT_MS,
      }),
      query_timeout: LEASE_QUERY_TIMEOUT_MS,
    });
    // An idle connection that fails (server restart, pg_terminate_backend, network) takes the lease with it.
    client.on("error", (error) => this.drop(client, error));
    client.on("end", () => this.drop(client, undefined));
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }

  /** Forgets a failed connection; the next isLeader() opens a new one. */
  private drop(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    const wasLeader = this.held;
    this.held = false;
    client.end().catch(() => undefined);
    if (this.closed) return;
    if (wasLeader) this.logger.warn({ err: error, lease: this.name }, "lost the leader lease: its PostgreSQL connection failed");
    else if (error !== undefined) this.logger.warn({ err: error, lease: this.name }, "the leader lease's PostgreSQL connection failed");
  }
}
