import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { SqlRow } from '../../src/ports/sql.js';
import { LeasedJob } from '../../src/queue/job.js';
import { decodeJobRow } from '../../src/queue/job-row.js';
import { decodeLeasedJobRow } from '../../src/queue/leased-job-row.js';

const date = fc.date({ noInvalidDate: true });
/**
 * A timestamp as the drivers return it: a `Date` from a column, an ISO string from `jsonb`, or
 * `to_json` text with microseconds and an offset, as the claim returns its times.
 */
const stored = fc.oneof(
  date,
  date.map((at) => at.toISOString()),
  date.map((at) => at.toISOString().replace('Z', '456+00:00')),
);
const nullableStored = fc.option(stored, { nil: null });
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
  at: stored,
  name: fc.string(),
  message: fc.string(),
  extra: fc.option(fc.string(), { nil: undefined }),
});

/** A claimed row as the claim statement returns it. */
const claimedRow = fc.record({
  id: fc.oneof(
    fc.bigInt({ min: 1n, max: 2n ** 62n }).map(String),
    fc.integer({ min: 1 }),
    fc.bigInt({ min: 1n, max: 2n ** 62n }),
  ),
  queue: fc.string({ minLength: 1 }),
  kind: fc.string({ minLength: 1 }),
  args: json,
  state: fc.constant('executing'),
  priority: fc.integer({ min: 0, max: 9 }),
  attempt: fc.integer({ min: 1, max: 30 }),
  maxAttempts: fc.integer({ min: 1, max: 30 }),
  lostAttempts: fc.integer({ min: 0, max: 3 }),
  snoozes: fc.integer({ min: 0, max: 3 }),
  scheduledAt: stored,
  attemptedAt: stored,
  attemptedBy: fc.string(),
  leaseToken: fc.uuid(),
  leaseExpiresAt: stored,
  completedAt: nullableStored,
  discardedAt: nullableStored,
  cancelledAt: nullableStored,
  errors: fc.array(jobError, { maxLength: 3 }),
  uniqueKey: nullableString,
  uniqueActiveKey: nullableString,
  serialKey: nullableString,
  insertedAt: stored,
});

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

const fields = Object.keys(LeasedJob.type.type.props);

/** A claimed row with one field replaced by junk. */
const brokenRow = fc
  .tuple(claimedRow, fc.constantFrom(...fields), junk)
  .map(([row, field, value]): SqlRow => ({ ...row, [field]: value }));

describe('decodeLeasedJobRow', () => {
  it('decodes every claimed row as the LeasedJob codec does', () => {
    fc.assert(
      fc.property(claimedRow, (row) => {
        expect(decodeLeasedJobRow(row)).toEqual(decodeJobRow(LeasedJob, row));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a row with a broken field as the codec does, naming the same field', () => {
    fc.assert(
      fc.property(brokenRow, (row) => {
        expect(decodeLeasedJobRow(row)).toEqual(decodeJobRow(LeasedJob, row));
      }),
      { numRuns: 1000 },
    );
  });
});
