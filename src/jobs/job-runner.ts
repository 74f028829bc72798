// Runs the background jobs on their intervals, one run at a time per job, and stops cleanly.
import type { Logger } from "../logger.js";

export interface Job {
  name: string;
  intervalMs: number;
  run(): Promise<unknown>;
}

export interface JobRunner {
  /** Runs a job now (tests, operators); waits for a run already under way first. */
  runNow(name: string): Promise<unknown>;
  stop(): Promise<void>;
}

export function startJobs(jobs: Job[], logger: Logger, options: { shouldRun?: () => Promise<boolean> } = {}): JobRunner {
  const running = new Map<string, Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;

  const runOnce = async (job: Job): Promise<unknown> => {
    const current = running.get(job.name);
    if (current !== undefined) await current.catch(() => undefined);
    const run = job
      .run()
      .catch((error: unknown) => {
        logger.error({ err: error, job: job.name }, "background job failed; it runs again on its next interval");
        return undefined;
      })
      .finally(() => running.delete(job.name));
    running.set(job.name, run);
    return run;
  };

  for (const job of jobs) {
    if (job.intervalMs <= 0) continue;
    const timer = setInterval(() => {
      if (stopped || running.has(job.name)) return;
      // Once per cluster: only the replica holding the lease runs the job (a scheduled run, not runNow).
      void (options.shouldRun ? options.shouldRun() : Promise.resolve(true)).then((lead) => {
        if (lead && !stopped && !running.has(job.name)) void runOnce(job);
      });
    }, job.intervalMs);
    timer.unref();
    timers.push(timer);
  }

  return {
    runNow(name) {
      const job = jobs.find((j) => j.name === name);
      if (!job) throw new Error(`no background job named ${name}`);
      return runOnce(job);
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running.values()]);
    },
  };
}
