import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Logger } from '../config/logger';
import type { RedisConnection } from './redis.client';

/**
 * An express-rate-limit store that counts in Redis (shared by every instance) and, while Redis is
 * unreachable or slow, in this instance's memory. The documented direction of the fallback:
 * limits stay enforced, per instance, never switched off and never refusing everyone.
 */
export class FallbackStore implements Store {
  readonly localKeys = false;
  private options?: Options;
  private readonly memory = new MemoryStore();
  private redis: RedisStore;

  constructor(
    private readonly connection: RedisConnection,
    readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.redis = this.createRedisStore();
    // The Lua scripts must be (re)loaded after every reconnect, or EVALSHA keeps failing.
    connection.onReady(() => {
      if (this.options) void this.initRedis(this.options);
    });
  }

  private createRedisStore(): RedisStore {
    return new RedisStore({ prefix: this.prefix, sendCommand: (...args: string[]) => this.connection.send(args) as Promise<never> });
  }

  private async initRedis(options: Options): Promise<void> {
    const store = this.createRedisStore();
    try {
      await store.init(options);
      this.redis = store;
    } catch (error) {
      this.logger.warn('redis: rate-limit scripts not loaded yet', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  init(options: Options): void {
    this.options = options;
    this.memory.init(options);
    if (this.connection.isReady()) void this.initRedis(options);
  }

  private async either<T>(viaRedis: (s: RedisStore) => Promise<T>, viaMemory: (s: MemoryStore) => Promise<T>): Promise<T> {
    if (this.connection.isReady()) {
      try {
        return await viaRedis(this.redis);
      } catch (error) {
        this.logger.warn('redis: rate-limit command failed; counting in memory for now', { error: error instanceof Error ? error.message : String(error) });
      }
    }
    return viaMemory(this.memory);
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return this.either((s) => s.increment(key), (s) => s.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.either((s) => s.decrement(key), (s) => s.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.either((s) => s.resetKey(key), (s) => s.resetKey(key));
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.either((s) => s.get(key), (s) => s.get(key));
  }

  shutdown(): void {
    this.memory.shutdown();
  }
}
