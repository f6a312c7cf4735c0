import { describe, expect, it } from 'vitest';

import { dropCrashSchema, formatCrashReport, runCrashHarness } from './crash-harness.js';

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
      await dropCrashSchema(databaseUrl, report.schema);
      expect(report.sagas).toBe(long ? 500 : 60);
      expect(report.kills).toBeGreaterThan(0);
    },
    long ? 1_000_000 : 120_000,
  );
});
