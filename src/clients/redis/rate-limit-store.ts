import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Logger } from '../../config/logger';
import type { RedisConnection } from './redis.client';

/** Builds the store of one limiter from its key prefix; undefined: express-rate-limit's in-memory store. */
export type StoreFactory = (prefix: string) => Store | undefined;

const RETRY_REDIS_AFTER_MS = 2000;

/**
 * An express-rate-limit store that counts in Redis (shared by every instance) and, while Redis is
 * unreachable or slow, in this instance's memory. The documented direction of the fallback:
 * limits stay enforced, per instance, never switched off and never refusing everyone.
 */
export class FallbackStore implements Store {
  readonly localKeys = false;
  private options?: Options;
  private readonly memory = new MemoryStore();
  /** The Redis store once its scripts are loaded; until then counting is in memory. */
  private redis?: RedisStore;
  private loading?: Promise<void>;
  /** Set by the first failure of an episode, so a slow or flaky Redis logs once, not once per request. */
  private degraded = false;
  /**
   * After a failure, requests count in memory without asking Redis for a moment: a hung Redis
   * would otherwise cost every request the full command timeout. One request probes afterwards.
   */
  private skipRedisUntil = 0;

  constructor(
    private readonly connection: RedisConnection,
    readonly prefix: string,
    private readonly logger: Logger,
  ) {
    // The Lua scripts must be (re)loaded after every reconnect, or EVALSHA keeps failing.
    connection.onReady(() => this.loadScripts());
  }

  /**
   * Loads the scripts into a fresh RedisStore and switches to it once they are in. One load at a
   * time; a failed load is retried by the next request (the connection may stay up throughout,
   * so waiting for the next reconnect would leave this instance counting alone indefinitely).
   */
  private loadScripts(): void {
    if (!this.options || this.loading || !this.connection.isReady()) return;
    const store = new RedisStore({
      prefix: this.prefix,
      sendCommand: (...args: string[]) => this.connection.send(args) as Promise<never>,
    });
    this.loading = store
      .init(this.options)
      .then(
        () => {
          this.redis = store;
        },
        (error: unknown) => this.failed('redis: rate-limit scripts not loaded; counting in memory for now', error),
      )
      .finally(() => {
        this.loading = undefined;
      });
  }

  private failed(message: string, error: unknown): void {
    this.skipRedisUntil = Date.now() + RETRY_REDIS_AFTER_MS;
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn(message, { error: error instanceof Error ? error.message : String(error) });
  }

  init(options: Options): void {
    this.options = options;
    this.memory.init(options);
    this.loadScripts();
  }

  private async either<T>(
    viaRedis: (s: RedisStore) => Promise<T>,
    viaMemory: (s: MemoryStore) => Promise<T>,
  ): Promise<T> {
    if (this.connection.isReady() && Date.now() >= this.skipRedisUntil) {
      if (!this.redis) {
        // Right after start-up (or after a failed load) the scripts are on their way: waiting for
        // them (at most the command timeout) keeps the first requests' counts shared too.
        this.loadScripts();
        await this.loading;
      }
      if (this.redis) {
        try {
          const result = await viaRedis(this.redis);
          if (this.degraded) {
            this.degraded = false;
            this.logger.info('redis: rate-limit commands answer again; per-IP limits are shared again');
          }
          return result;
        } catch (error) {
          this.failed('redis: rate-limit command failed; counting in memory for now', error);
        }
      }
    }
    return viaMemory(this.memory);
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.either(
      (s) => s.increment(key),
      (s) => s.increment(key),
    );
  }

  decrement(key: string): Promise<void> {
    return this.either(
      (s) => s.decrement(key),
      (s) => s.decrement(key),
    );
  }

  resetKey(key: string): Promise<void> {
    return this.either(
      (s) => s.resetKey(key),
      (s) => s.resetKey(key),
    );
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.either(
      (s) => s.get(key),
      (s) => s.get(key),
    );
  }

  shutdown(): void {
    this.memory.shutdown();
  }
}
