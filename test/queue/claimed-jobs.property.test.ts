import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  type ClaimLease,
  claimedJobRecord,
  decodeClaimedJob,
} from '../../src/queue/claimed-jobs.js';
import { LeasedJob, type LeaseToken } from '../../src/queue/job.js';
import { decodeJobRow } from '../../src/queue/job-row.js';
import { CLAIMED_JOB_FIELDS } from '../../src/queue/sql/claim-jobs.js';

const date = fc.date({ noInvalidDate: true });
/** A time as the claim sends a column: epoch milliseconds, with a fraction for microseconds. */
const epoch = fc.oneof(
  date.map((at) => at.getTime()),
  date.map((at) => at.getTime() + 0.456),
);
const nullableEpoch = fc.option(epoch, { nil: null });
/** A time kept inside `jsonb`, as in `errors`: ISO text, with microseconds and an offset. */
const isoTime = fc.oneof(
  date.map((at) => at.toISOString()),
  date.map((at) => at.toISOString().replace('Z', '456+00:00')),
);
const nullableString = fc.option(fc.string(), { nil: null });

const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.string(),
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(fc.string(), tie('json'), { maxKeys: 3 }),
  ),
}));

const jobError = fc.record({
  attempt: fc.integer({ min: 1, max: 30 }),
  at: isoTime,
  name: fc.string(),
  message: fc.string(),
  extra: fc.option(fc.string(), { nil: undefined }),
});

/** The fields of one claimed job, by name; sent as a tuple in the order of the claim. */
const claimedFields = fc.record({
  id: fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String), fc.integer({ min: 1 })),
  kind: fc.string({ minLength: 1 }),
  args: json,
  priority: fc.integer({ min: 0, max: 9 }),
  attempt: fc.integer({ min: 1, max: 30 }),
  maxAttempts: fc.integer({ min: 1, max: 30 }),
  lostAttempts: fc.integer({ min: 0, max: 3 }),
  snoozes: fc.integer({ min: 0, max: 3 }),
  scheduledAt: epoch,
  completedAt: nullableEpoch,
  discardedAt: nullableEpoch,
  cancelledAt: nullableEpoch,
  errors: fc.array(jobError, { maxLength: 3 }),
  uniqueKey: nullableString,
  uniqueActiveKey: nullableString,
  serialKey: nullableString,
  insertedAt: epoch,
});

function toTuple(fields: Record<string, unknown>): unknown[] {
  return CLAIMED_JOB_FIELDS.map((field) => fields[field]);
}

const claimedTuple = claimedFields.map(toTuple);

const lease: ClaimLease = {
  queue: 'mail',
  attemptedBy: 'worker-1',
  leaseToken: '6f1c2a9e-0d4b-4c8e-9a51-3b7d2e8f0c16' as LeaseToken,
  attemptedAt: new Date('2026-12-04T06:00:00.000Z'),
  leaseExpiresAt: new Date('2026-12-04T06:00:30.000Z'),
};

/** Anything a broken row might hold in one field. */
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(''),
  fc.constant('not a date'),
  fc.constant(0n),
  fc.constant(-1),
  fc.constant(Number.NaN),
  fc.constant(new Date(Number.NaN)),
  fc.constant([{ attempt: 1, at: 'never', name: 'x', message: 'y' }]),
  fc.constant({ toJSON: 1 }),
  fc.constant(new Map()),
  fc.string(),
  fc.double(),
);

/** A claimed tuple with one field replaced by junk, or cut short. */
const brokenTuple = fc.oneof(
  fc
    .tuple(claimedFields, fc.constantFrom(...CLAIMED_JOB_FIELDS), junk)
    .map(([fields, field, value]) => toTuple({ ...fields, [field]: value })),
  claimedTuple.map((tuple) => tuple.slice(0, -1)),
);

/** What the io-ts codec says of a tuple: the reference the fast reader must agree with. */
function byCodec(tuple: readonly unknown[]) {
  return decodeJobRow(LeasedJob, claimedJobRecord(tuple, lease));
}

describe('decodeClaimedJob', () => {
  it('decodes every claimed job as the LeasedJob codec does', () => {
    fc.assert(
      fc.property(claimedTuple, (tuple) => {
        const decoded = decodeClaimedJob(tuple, lease);
        expect(decoded._tag).toBe('Right');
        expect(decoded).toEqual(byCodec(tuple));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a job with a broken field as the codec does, naming the same field', () => {
    fc.assert(
      fc.property(brokenTuple, (tuple) => {
        expect(decodeClaimedJob(tuple, lease)).toEqual(byCodec(tuple));
      }),
      { numRuns: 1000 },
    );
  });

  it('names the field of a claimed job whose time is not a time', () => {
    const fields = fc.sample(claimedFields, { numRuns: 1, seed: 7 })[0];
    const decoded = decodeClaimedJob(toTuple({ ...fields, scheduledAt: 'soon' }), lease);
    expect(decoded).toMatchObject({ _tag: 'Left', left: { path: 'scheduledAt' } });
  });
});
