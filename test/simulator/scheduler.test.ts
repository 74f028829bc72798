// The Scheduler alone: idle() must be exact, or tests that await it read half a session.
import { describe, expect, it } from "vitest";
import { Scheduler } from "../../src/simulator/scheduler.js";

describe("Scheduler.idle()", () => {
  it("does not resolve while a callback cancels the last other timer and schedules the next step", async () => {
    // Like the CPO's End: cancel the pending Progress, then schedule the CDR.
    const scheduler = new Scheduler();
    const steps: string[] = [];
    const cancelProgress = scheduler.after(1_000, () => steps.push("progress"));
    scheduler.after(5, () => {
      cancelProgress();
      steps.push("end");
      scheduler.after(5, () => steps.push("cdr"));
    });
    await scheduler.idle();
    expect(steps).toEqual(["end", "cdr"]);
    expect(scheduler.pending).toBe(0);
  });

  it("waits for a promise a callback returns, and resolves at once after close()", async () => {
    const scheduler = new Scheduler();
    let settled = false;
    scheduler.after(1, async () => {
      await new Promise((r) => setTimeout(r, 20));
      settled = true;
    });
    await scheduler.idle();
    expect(settled).toBe(true);
    scheduler.after(10_000, () => {});
    scheduler.close();
    await scheduler.idle();
    expect(scheduler.closed).toBe(true);
  });
});
