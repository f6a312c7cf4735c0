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
    `recovers every saga after SIGKILLs of its workers and operators' commands (seed ${seed})`,
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
      expect(report.cancelled).toBeGreaterThan(0);

      // The checker is not vacuous: an undo lost (of any saga, and of a cancelled one), a job
      // left behind and a refusal that the history belies are all reported.
      const sql = createPgSqlClient({ connectionString: databaseUrl, schema: report.schema });
      try {
        // A saga whose history holds a cancel (the operator's, or its parent's).
        const lost = await sql.query(
          `DELETE FROM crash_effects WHERE key = (SELECT key FROM crash_effects
           WHERE kind = 'undo' AND 'saga-' || saga_id IN (SELECT stream_name FROM rewind_events
             WHERE type = 'SagaCancelRequested')
           ORDER BY seq LIMIT 1) RETURNING saga_id`,
        );
        const victim = lost.rows[0]?.saga_id;
        expect(typeof victim).toBe('string');
        await sql.query(
          `DELETE FROM crash_effects WHERE key = (SELECT key FROM crash_effects
           WHERE kind = 'undo' ORDER BY seq LIMIT 1)`,
        );
        await sql.query(
          `UPDATE rewind_jobs SET state = 'available' WHERE id = (SELECT min(id) FROM rewind_jobs)`,
        );
        const recorded = report.commands.findIndex(({ outcome }) => outcome._tag === 'Recorded');
        const commands = report.commands.map((command, index) =>
          index === recorded
            ? {
                ...command,
                outcome: {
                  _tag: 'Refused' as const,
                  failure: 'CommandNotApplicableFailure' as const,
                  status: 'completed',
                  detail: 'tampered',
                },
              }
            : command,
        );
        const rewind = new Rewind({ sql, sagas: createCrashSagas(PASSIVE_CRASH_HOOKS) });
        const sagas = report.sagaList;
        const tampered = await checkCrashRun(rewind.store, sql, rewind.registry, sagas, commands);
        expect(tampered.violations).toContain('1 job(s) left available');
        expect(tampered.violations.some((v) => v.includes('not undone'))).toBe(true);
        const ofVictim = `saga ${String(victim)}: effect`;
        expect(tampered.violations.some((v) => v.startsWith(ofVictim))).toBe(true);
        expect(tampered.violations.some((v) => v.includes('refused, yet its event'))).toBe(true);
      } finally {
        await sql.close();
      }
      await dropCrashSchema(databaseUrl, report.schema);
    },
    long ? 1_000_000 : 120_000,
  );
});
