// Redis for tests: the server every Redis test uses, and a wait for a SUBSCRIBE to take effect.
import { Redis } from "ioredis";
import { eventually } from "./wait.js";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Resolves once Redis itself counts `count` subscribers of `channel` (PUBSUB NUMSUB): a SUBSCRIBE
 * another connection sent (a replica's, a gateway process's) has taken effect, and a message
 * published from now on reaches it.
 */
export async function untilSubscribed(channel: string, count = 1, url = REDIS_URL): Promise<void> {
  const admin = new Redis(url);
  try {
    await eventually(async () => {
      const [, subscribers] = (await admin.pubsub("NUMSUB", channel)) as [string, number];
      return subscribers >= count;
    }, `${count} subscriber(s) of ${channel} in Redis`);
  } finally {
    admin.disconnect();
  }
}
