// Rate limits on what costs money or upstream budget: each driver's mutations, and the EMP's
// remote starts as a whole (Hubject allows 100 AuthorizeRemoteStart calls a minute for the
// whole EMP, docs/oicp.md#rate-limits; above that it answers 429). rate-limiter-flexible keeps the counters;
// its Redis store can replace the memory one when several replicas share the budget.
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { rateLimited } from "../errors.js";
import type { MutationLimits } from "../sessions/ports.js";

export function createMutationLimits(options: {
  mutationsPerDriverPerMinute: number;
  remoteStartsPerMinute: number;
  /** Another store (Redis) for several replicas; memory by default. */
  limiter?: (points: number, keyPrefix: string) => RateLimiterAbstract;
}): MutationLimits {
  const make = options.limiter ?? ((points: number, keyPrefix: string) => new RateLimiterMemory({ points, duration: 60, keyPrefix }));
  const perDriver = make(options.mutationsPerDriverPerMinute, "driver-mutations");
  const emp = make(options.remoteStartsPerMinute, "emp-remote-starts");

  async function consume(limiter: RateLimiterAbstract, key: string, message: string) {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw rateLimited(message, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw rejection; // the store failed: not the driver's fault
    }
  }

  return {
    driverMutation: (driverId) => consume(perDriver, driverId, "Too many start or stop requests. Please wait a moment and try again."),
    remoteStart: () => consume(emp, "all", "Many drivers are starting to charge right now. Please try again in a few seconds."),
  };
}
