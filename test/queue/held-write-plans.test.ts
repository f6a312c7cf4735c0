import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SqlExecutor } from '../../src/ports/sql.js';
import { toHeldBatchParams } from '../../src/queue/batch-writes.js';
import { claimJobs } from '../../src/queue/claim-jobs.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import type { LeasedJob } from '../../src/queue/job.js';
import { COMPLETE_JOBS, EXTEND_LEASES, UNCLAIM_JOBS } from '../../src/queue/sql/batch-writes.js';

import { createQueueName } from '../support/jobs.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

let db: TestDatabase;
let held: LeasedJob[];

/** A plan node of `EXPLAIN (FORMAT JSON)`, with the fields read here. */
interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly Plans?: readonly PlanNode[];
}

function* walk(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* walk(child);
}

const SCANS = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan']);

/** How each plan node that reads the jobs table reads it. */
function jobScans(plan: PlanNode): string[] {
  return [...walk(plan)]
    .filter((node) => SCANS.has(node['Node Type']) || node['Node Type'] === 'Bitmap Index Scan')
    .filter((node) => (node['Relation Name'] ?? node['Index Name'])?.startsWith('rewind_jobs'))
    .map((node) => `${node['Node Type']} ${node['Index Name'] ?? ''}`.trim());
}

/**
 * The plan Postgres makes of `statement` for the held jobs, planned for these very parameters
 * (`custom`) or once for any (`generic`, as a prepared statement is after five runs).
 */
async function planOf(
  statement: string,
  mode: 'custom' | 'generic',
  extra: readonly unknown[] = [],
): Promise<PlanNode> {
  return db.sql.transaction(async (tx: SqlExecutor) => {
    await tx.exec(`SET LOCAL plan_cache_mode = force_${mode}_plan`);
    const types = ['bigint[]', 'jsonb', ...extra.map(() => 'double precision')].join(', ');
    await tx.exec(`PREPARE held_write(${types}) AS ${statement}`);
    const params = [...toHeldBatchParams(held), ...extra].map((value) => `'${value}'`);
    const { rows } = await tx.query(
      `EXPLAIN (FORMAT JSON) EXECUTE held_write(${params.join(', ')})`,
    );
    await tx.exec('DEALLOCATE held_write');
    const explained = rows[0]?.['QUERY PLAN'];
    const document = typeof explained === 'string' ? JSON.parse(explained) : explained;
    return document[0].Plan as PlanNode;
  });
}

// The moment the statistics are most wrong: a backlog inserted and analysed while nothing
// executed, then all of it claimed.
beforeAll(async () => {
  db = await createTestDatabase();
  const queue = createQueueName();
  const jobs = Array.from({ length: 4000 }, () => ({ queue, kind: 'noop', args: {} }));
  await insertJobs(db.sql, jobs);
  await db.sql.exec('ANALYZE rewind_jobs');
  const claims: LeasedJob[][] = [];
  for (let claim = 0; claim < 8; claim++) {
    const options = { queue, workerId: 'w', limit: 500, leaseMs: 30_000 };
    claims.push([...(await claimJobs(db.sql, options)).jobs]);
  }
  held = claims[0] ?? [];
}, 60_000);

afterAll(async () => {
  await db.drop();
});

describe('plans of the held writes', () => {
  const statements = [
    ['completion', COMPLETE_JOBS, []],
    ['heartbeat', EXTEND_LEASES, [30_000]],
    ['unclaim', UNCLAIM_JOBS, []],
  ] as const;

  for (const [name, statement, extra] of statements) {
    for (const mode of ['custom', 'generic'] as const) {
      it(`reads each held job of a ${name} by primary key, in a ${mode} plan`, async () => {
        expect(held).toHaveLength(500);

        const scans = jobScans(await planOf(statement, mode, extra));

        expect(scans.length).toBeGreaterThan(0);
        for (const scan of scans) expect(scan).toMatch(/rewind_jobs_pkey$/);
      });
    }
  }
});
