// What a replica remembers of the registry for authorizations: identifications by credential key,
// found and not found alike (most RFID requests Hubject broadcasts are other EMPs' cards: "not
// mine" must not cost a store read each time). Bounded by count; an entry lives cacheMs at most;
// a change anywhere drops its key on every replica (RegistryChanges), and while those messages
// cannot arrive (Redis down) the cache is bypassed, so a blocked card is refused at once.
import { LRUCache } from "lru-cache";
import type { Identification } from "./identification.js";
import type { RegistryChanges } from "./ports.js";

type Entry = { identification: Identification | null; generation: number };

export class IdentificationLookupCache {
  private readonly entries: LRUCache<string, Entry> | null;
  /** Raised by every invalidation: a read that began before it is not kept. */
  private generation = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly changes: RegistryChanges,
    options: { maxEntries: number; ttlMs: number },
  ) {
    this.entries = options.maxEntries > 0 && options.ttlMs > 0 ? new LRUCache({ max: options.maxEntries, ttl: options.ttlMs }) : null;
    this.unsubscribe = changes.subscribe((keys) => this.invalidate(keys));
  }

  /** The identification for a credential key, from memory when it may be, else from `load`. */
  async get(key: string, load: (key: string) => Promise<Identification | undefined>): Promise<Identification | null> {
    if (!this.entries || this.changes.degraded()) return (await load(key)) ?? null;
    const hit = this.entries.get(key);
    if (hit) return hit.identification;
    const generation = this.generation;
    const identification = (await load(key)) ?? null;
    // An invalidation that came while the store was read may concern what was read: not kept.
    if (generation === this.generation && !this.changes.degraded()) this.entries.set(key, { identification, generation });
    return identification;
  }

  /** Drops the keys (null: everything). Called for changes here and on every other replica. */
  invalidate(keys: readonly string[] | null): void {
    this.generation++;
    if (!this.entries) return;
    if (keys === null) this.entries.clear();
    else for (const key of keys) this.entries.delete(key);
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  close(): void {
    this.unsubscribe();
  }
}
