export const VERIFICATION_METHODS = ['sms', 'flashcall', 'callout', 'seamless', 'whatsapp'] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];
export type VerificationStatus = 'PENDING' | 'SUCCESSFUL' | 'FAIL' | 'DENIED' | 'ABORTED' | 'ERROR';
export type CodeType = 'Numeric' | 'Alpha' | 'Alphanumeric';

/** One emulated verification, as the emulator (not the wire) sees it. */
export interface VerificationRecord {
  id: string;
  method: VerificationMethod;
  endpoint: string;
  reference?: string;
  custom?: string;
  /** The languages of the start's Accept-Language header, most wanted first (for the VerificationRequestEvent). */
  acceptLanguage?: string[];
  /** The language the message is "sent" in: calloutOptions.speech.locale for callout, else the preferred Accept-Language. */
  locale?: string;
  countryId?: string;
  /** The secret to report: the code, or the caller id for flashcall; '' for seamless. */
  code: string;
  codeType: CodeType;
  /** False when nothing reached the phone (undelivered sandbox range, denied by callback). */
  delivered: boolean;
  status: VerificationStatus;
  reason?: string;
  source?: string;
  wrongReports: number;
  createdAt: number;
  expiresAt: number;
}

export interface VerificationStoreOptions {
  /** Hard cap; beyond it the oldest verifications are evicted whatever their state. */
  maxEntries: number;
  /** How long a verification stays queryable after it expired. */
  graceMs: number;
  /** Minimum clock time between two full sweeps for expired entries. */
  sweepEveryMs: number;
  now: () => number;
}

/**
 * In-memory verifications with the lookups Sinch offers (id, number, method + number,
 * reference). Memory stays bounded under load: expired entries are swept after a grace
 * period, and a hard cap evicts the oldest first (Map iteration order is insertion order).
 */
export class VerificationStore {
  private readonly byId = new Map<string, VerificationRecord>();
  private readonly byReference = new Map<string, VerificationRecord>();
  private readonly latestByNumber = new Map<string, VerificationRecord>();
  private readonly latestByMethodNumber = new Map<string, VerificationRecord>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: VerificationStoreOptions) {}

  get size(): number {
    return this.byId.size;
  }

  add(record: VerificationRecord): void {
    while (this.byId.size >= this.options.maxEntries) {
      const oldest = this.byId.values().next();
      if (oldest.done === true) break;
      this.remove(oldest.value);
    }
    this.byId.set(record.id, record);
    if (record.reference !== undefined) this.byReference.set(record.reference, record);
    this.latestByNumber.set(record.endpoint, record);
    this.latestByMethodNumber.set(methodKey(record.method, record.endpoint), record);
  }

  get(id: string): VerificationRecord | undefined {
    return this.alive(this.byId.get(id));
  }

  /** The most recent verification to a number, optionally of one method. */
  latestFor(endpoint: string, method?: VerificationMethod): VerificationRecord | undefined {
    return this.alive(
      method === undefined
        ? this.latestByNumber.get(endpoint)
        : this.latestByMethodNumber.get(methodKey(method, endpoint)),
    );
  }

  byReferenceOf(reference: string): VerificationRecord | undefined {
    return this.alive(this.byReference.get(reference));
  }

  clear(): void {
    this.byId.clear();
    this.byReference.clear();
    this.latestByNumber.clear();
    this.latestByMethodNumber.clear();
  }

  /** Drops verifications past expiry + grace; cheap to call often (sweeps at most every `sweepEveryMs`). */
  prune(): void {
    const nowMs = this.options.now();
    if (nowMs - this.lastSweep < this.options.sweepEveryMs) return;
    this.lastSweep = nowMs;
    for (const record of this.byId.values()) {
      if (this.isRetired(record, nowMs)) this.remove(record);
    }
  }

  /** Lookups hide retired entries at once; the sweep only reclaims their memory later. */
  private alive(record: VerificationRecord | undefined): VerificationRecord | undefined {
    if (record === undefined || this.isRetired(record, this.options.now())) return undefined;
    return record;
  }

  private isRetired(record: VerificationRecord, nowMs: number): boolean {
    return nowMs > record.expiresAt + this.options.graceMs;
  }

  private remove(record: VerificationRecord): void {
    this.byId.delete(record.id);
    // Indexes may already point at a newer verification for the same number or reference.
    if (record.reference !== undefined && this.byReference.get(record.reference) === record) {
      this.byReference.delete(record.reference);
    }
    if (this.latestByNumber.get(record.endpoint) === record) this.latestByNumber.delete(record.endpoint);
    const key = methodKey(record.method, record.endpoint);
    if (this.latestByMethodNumber.get(key) === record) this.latestByMethodNumber.delete(key);
  }
}

function methodKey(method: VerificationMethod, endpoint: string): string {
  return `${method} ${endpoint}`;
}
