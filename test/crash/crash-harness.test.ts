import { describe, expect, it } from 'vitest';

import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { checkCrashRun } from './check-crash-run.js';
import {
  dropCrashSchema,
  formatCrashReport,
  PASSIVE_CRASH_HOOKS,
  runCrashHarness,
} from './crash-harness.js';
import { createCrashSagas } from './crash-sagas.js';

const databaseUrl = process.env.DATABASE_URL;
const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 1_000_000));
const long = process.env.CRASH_LONG === '1';

// Real worker processes need a real Postgres that several processes can share.
describe.skipIf(!databaseUrl)('crash harness', () => {
  it(
    `recovers every saga after SIGKILLs of its workers (seed ${seed})`,
    async () => {
      if (!databaseUrl) return;
      const report = await runCrashHarness({
        databaseUrl,
        seed,
        sagas: long ? 500 : 60,
        kills: long ? 50 : 10,
        workers: 4,
        timeoutMs: long ? 900_000 : 90_000,
      });
      process.stdout.write(`${formatCrashReport(report).join('\n')}\n`);
      expect(report.violations).toEqual([]);
      expect(report.sagas).toBe(long ? 500 : 60);
      expect(report.kills).toBeGreaterThan(0);

      // The checker is not vacuous: an undo lost and a job left behind are both reported.
      const sql = createPgSqlClient({ connectionString: databaseUrl, schema: report.schema });
      try {
        await sql.query(
          `DELETE FROM crash_effects WHERE key = (SELECT key FROM crash_effects
           WHERE kind = 'undo' ORDER BY seq LIMIT 1)`,
        );
        await sql.query(
          `UPDATE rewind_jobs SET state = 'available' WHERE id = (SELECT min(id) FROM rewind_jobs)`,
        );
        const rewind = new Rewind({ sql, sagas: createCrashSagas(PASSIVE_CRASH_HOOKS) });
        const sagas = report.sagaList;
        const tampered = await checkCrashRun(rewind.store, sql, rewind.registry, sagas);
        expect(tampered.violations).toContain('1 job(s) left available');
        expect(tampered.violations.some((v) => v.includes('not undone'))).toBe(true);
      } finally {
        await sql.close();
      }
      await dropCrashSchema(databaseUrl, report.schema);
    },
    long ? 1_000_000 : 120_000,
  );
});
