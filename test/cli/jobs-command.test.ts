import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatQueueDepths } from '../../src/cli/jobs-command.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { countJobs } from '../../src/queue/maintain-jobs.js';
import { drainQueue } from '../../src/queue/testing.js';
import { createQueueName } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

describe('rewind jobs', () => {
  it('counts the jobs of each queue by state and prints one line per queue', async () => {
    const queue = createQueueName('depth');
    await insertJobs(db.sql, [
      { queue, kind: 'a', args: {} },
      { queue, kind: 'b', args: {} },
      { queue, kind: 'later', args: {}, scheduledAt: new Date(Date.now() + 3_600_000) },
    ]);
    await drainQueue(db.sql, { queue, handler: async () => undefined, maxRuns: 1 });

    const depths = (await countJobs(db.sql)).filter((depth) => depth.queue === queue);
    const lines = formatQueueDepths(depths);

    expect(depths).toEqual([
      { queue, state: 'available', count: 1, due: 1 },
      { queue, state: 'completed', count: 1, due: 0 },
      { queue, state: 'scheduled', count: 1, due: 0 },
    ]);
    expect(lines[0]?.split(/\s+/)).toEqual([
      'queue',
      'available',
      'scheduled',
      'executing',
      'retryable',
      'completed',
      'discarded',
      'cancelled',
      'due',
    ]);
    expect(lines[1]?.split(/\s+/)).toEqual([queue, '1', '1', '0', '0', '1', '0', '0', '1']);
    expect(formatQueueDepths([])).toEqual(['no jobs']);
  });
});
