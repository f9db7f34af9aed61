import { pushBounded } from '../../src/emulator/ring-buffer';
import { VerificationStore, type VerificationRecord } from '../../src/emulator/verification-store';

let t = 1_000_000;
const now = (): number => t;

function record(id: string, endpoint: string, overrides: Partial<VerificationRecord> = {}): VerificationRecord {
  return {
    id,
    method: 'sms',
    endpoint,
    code: '1234',
    codeType: 'Numeric',
    delivered: true,
    status: 'PENDING',
    wrongReports: 0,
    createdAt: t,
    expiresAt: t + 60_000,
    ...overrides,
  };
}

function store(overrides: Partial<ConstructorParameters<typeof VerificationStore>[0]> = {}): VerificationStore {
  return new VerificationStore({ maxEntries: 100, graceMs: 10_000, sweepEveryMs: 1000, now, ...overrides });
}

describe('VerificationStore', () => {
  test('When verifications are added, then they are found by id, number, method + number and reference', () => {
    const s = store();
    const a = record('a', '+46701234567', { reference: 'ref-a' });
    const b = record('b', '+46701234567', { method: 'flashcall' });
    s.add(a);
    s.add(b);

    expect(s.get('a')).toBe(a);
    expect(s.latestFor('+46701234567')).toBe(b);
    expect(s.latestFor('+46701234567', 'sms')).toBe(a);
    expect(s.byReferenceOf('ref-a')).toBe(a);
  });

  test('When a verification is past expiry + grace, then lookups hide it at once and the sweep frees it', () => {
    const s = store();
    s.add(record('a', '+46701234567', { reference: 'r' }));

    t += 70_001;
    expect(s.get('a')).toBeUndefined();
    expect(s.byReferenceOf('r')).toBeUndefined();
    expect(s.size).toBe(1);
    s.prune();

    expect(s.size).toBe(0);
  });

  test('When the cap is reached, then the oldest is evicted without breaking the indexes of newer ones', () => {
    const s = store({ maxEntries: 2 });
    s.add(record('a', '+46701234567', { reference: 'r' }));
    s.add(record('b', '+46701234568'));
    s.add(record('c', '+46701234567', { reference: 'r2' }));

    expect(s.size).toBe(2);
    expect(s.get('a')).toBeUndefined();
    expect(s.latestFor('+46701234567')?.id).toBe('c');
    expect(s.byReferenceOf('r')).toBeUndefined();
  });
});

describe('pushBounded', () => {
  test('When more items than the limit are pushed, then the most recent stay, in order', () => {
    const buffer: number[] = [];

    for (let i = 1; i <= 5; i += 1) pushBounded(buffer, i, 3);

    expect(buffer).toEqual([3, 4, 5]);
  });
});
