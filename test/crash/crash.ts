/**
 * The crash harness from the command line, on the Postgres of DATABASE_URL:
 *
 *   npm run crash -- --sagas 500 --kills 50 [--workers 4] [--seed 42]
 *
 * The seed is printed at the start; `CRASH_SEED=<seed>` (or `--seed`) replays its choices. Exits
 * 1 when any violation is found. `--check <schema>` checks the kept schema of a run again,
 * with the checker as it is now, and runs nothing.
 */
import { parseArgs } from 'node:util';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { describeDecodeErrors } from '../../src/core/decode-failure.js';
import { dropCrashSchema, formatCrashReport, runCrashHarness } from './crash-harness.js';
import { recheckCrashRun } from './recheck-crash-run.js';

const Count = new t.Type<number, string, unknown>(
  'Count',
  (u): u is number => typeof u === 'number',
  (u, context) =>
    typeof u === 'string' && /^\d+$/.test(u) ? t.success(Number(u)) : t.failure(u, context),
  String,
);

const CrashArgs = t.type({
  databaseUrl: t.string,
  sagas: Count,
  kills: Count,
  workers: Count,
  seed: Count,
});

const { values } = parseArgs({
  options: {
    sagas: { type: 'string', default: '500' },
    kills: { type: 'string', default: '50' },
    workers: { type: 'string', default: '4' },
    seed: { type: 'string' },
    check: { type: 'string' },
  },
});
const decoded = CrashArgs.decode({
  databaseUrl: process.env.DATABASE_URL,
  sagas: values.sagas,
  kills: values.kills,
  workers: values.workers,
  seed: values.seed ?? process.env.CRASH_SEED ?? String(Math.floor(Math.random() * 1_000_000)),
});
if (E.isLeft(decoded)) {
  const { path, message } = describeDecodeErrors(decoded.left);
  process.stderr.write(`crash: ${path === 'databaseUrl' ? 'DATABASE_URL' : path}: ${message}\n`);
  process.exit(2);
}
const log = (line: string) => process.stdout.write(`${line}\n`);
if (values.check !== undefined) {
  const check = await recheckCrashRun(decoded.right.databaseUrl, values.check);
  log(`schema ${values.check}: ${check.violations.length} violations`);
  for (const violation of check.violations) log(`  - ${violation}`);
  process.exit(check.violations.length > 0 ? 1 : 0);
}
const report = await runCrashHarness({ ...decoded.right, log });
for (const line of formatCrashReport(report)) log(line);
if (report.violations.length === 0) await dropCrashSchema(decoded.right.databaseUrl, report.schema);
else log(`kept schema ${report.schema} for inspection`);
process.exitCode = report.violations.length > 0 ? 1 : 0;
