import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import * as E from 'fp-ts/lib/Either.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SAGA_QUEUE } from '../../projections/job-feeder.js';
import type { RecordedEvent } from '../../src/core/events.js';
import type { SagaId } from '../../src/core/ids.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { insertJobs } from '../../src/queue/insert-jobs.js';
import { drainQueue } from '../../src/queue/testing.js';
import { dispatchJobs } from '../../src/queue/worker/define-worker.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { ACME_USER, type CliDatabase, createCliDatabase } from '../support/cli.js';
import { readJob } from '../support/jobs.js';
import { testBackend } from '../support/sql.js';
import {
  endlessSaga,
  everySecond,
  MAIL_QUEUE,
  mailWorker,
  quickSaga,
} from '../support/worker-command-module.js';

const MODULE = join(import.meta.dirname, '..', 'support', 'worker-command-module.ts');

/** A `rewind worker` process: its output so far, and promises for its readiness and its exit. */
interface WorkerProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves when the command says it runs, rejects if it exits first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `rewind worker …` in a process of its own, as a user would run it. */
function spawnWorker(args: readonly string[], env: Record<string, string>): WorkerProcess {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn('node', ['--import', 'tsx', 'src/cli/main.ts', 'worker', ...args], {
    env: { ...inherited, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': the pipes are drained by then, so every line has been read.
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    if (!child.stdout || !child.stderr) throw new Error('no pipes');
    createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      if (line.startsWith('rewind worker: running')) resolve();
    });
    void exited.then(({ code }) =>
      reject(new Error(`worker exited ${code}: ${stderr.join('\n')}`)),
    );
  });
  // Awaited only by tests that expect the worker to run: an early exit is no unhandled rejection.
  ready.catch(() => {});
  return { child, stdout, stderr, ready, exited };
}

/** Checks `read` every 50 ms until it returns a value, or fails after `timeoutMs`. */
async function eventually<Value>(
  what: string,
  read: () => Promise<Value | undefined>,
  timeoutMs = 20_000,
): Promise<Value> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function historyTypes(rewind: Rewind, sagaId: SagaId): Promise<string[]> {
  const history = await rewind.history(sagaId);
  if (E.isLeft(history)) throw new Error(`no history of ${sagaId}`);
  return history.right.map((recorded: RecordedEvent) => recorded.event.type);
}

async function startSaga(rewind: Rewind, definition: typeof quickSaga, id: string) {
  const started = await rewind.start(definition, { id }, { actor: ACME_USER });
  if (E.isLeft(started)) throw new Error('saga refused');
  return started.right.sagaId;
}

// The worker process holds its database while the test reads it: Postgres only, as an embedded
// database is one process's at a time.
describe.runIf(testBackend === 'postgres')('rewind worker on Postgres', () => {
  let db: CliDatabase;
  let sql: SqlClient;
  let rewind: Rewind;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createCliDatabase();
    sql = await db.open();
    rewind = new Rewind({ sql, sagas: [quickSaga, endlessSaga] });
    env = { DATABASE_URL: db.config.databaseUrl ?? '' };
  });

  afterAll(async () => {
    await sql.close();
    await db.drop();
  });

  it('runs sagas and job workers until SIGTERM, then exits 0', async () => {
    const worker = spawnWorker(['--sagas', MODULE, '--workers', MODULE], env);
    await worker.ready;

    const sagaId = await startSaga(rewind, quickSaga, 'q-1');
    const { inserted } = await insertJobs(sql, [mailWorker.job({ to: 'ada@example.net' })]);
    const mailJob = inserted[0];
    if (!mailJob) throw new Error('job not inserted');
    const types = await eventually('the saga to complete', async () => {
      const seen = await historyTypes(rewind, sagaId);
      return seen.includes('SagaCompleted') ? seen : undefined;
    });
    const mail = await eventually('the mail job to complete', async () => {
      const job = await readJob(sql, mailJob.id);
      return job.state === 'completed' ? job : undefined;
    });
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;

    expect(types).toEqual(['SagaStarted', 'StepStarted', 'StepCompleted', 'SagaCompleted']);
    expect(mail.state).toBe('completed');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(worker.stdout.at(0)).toBe(
      `rewind worker: running ${SAGA_QUEUE}, cli-worker-mail on Postgres (DATABASE_URL)`,
    );
    expect(worker.stdout.at(-1)).toBe('rewind worker: stopped');
    const messages = worker.stderr.map((line) => JSON.parse(line).msg);
    expect(messages).toContain('worker process stopping');
    expect(messages.at(-1)).toBe('worker process stopped');
  });

  it('hands back a saga still running when the grace period ends, before it exits (BC-25)', async () => {
    const worker = spawnWorker(
      ['--sagas', MODULE, '--queue', SAGA_QUEUE, '--grace-ms', '200'],
      env,
    );
    await worker.ready;

    const sagaId = await startSaga(rewind, endlessSaga, 'e-1');
    await eventually('the step to start', async () =>
      (await historyTypes(rewind, sagaId)).includes('StepStarted') ? true : undefined,
    );
    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    const stoppedWithinMs = Date.now() - signalledAt;
    const types = await historyTypes(rewind, sagaId);
    const jobs = await sql.query(
      `SELECT state, attempted_by FROM rewind_jobs WHERE queue = $1 AND args->>'sagaId' = $2`,
      [SAGA_QUEUE, sagaId],
    );

    expect(exit).toEqual({ code: 0, signal: null });
    expect(types).toEqual(['SagaStarted', 'StepStarted', 'StepInterrupted']);
    // Runnable at once by the next worker, not executing until its lease runs out.
    expect(jobs.rows.map((row) => row.state)).not.toContain('executing');
    expect(jobs.rows.length).toBeGreaterThan(0);
    // The grace period given, not the default of 10 s, bounded the wait.
    expect(stoppedWithinMs).toBeLessThan(5000);
  });

  it('inserts and runs the cron jobs of --workers, and prunes ended jobs past --retention-ms', async () => {
    await sql.query(`DELETE FROM rewind_jobs WHERE queue = $1`, [MAIL_QUEUE]);
    const { inserted } = await insertJobs(sql, [mailWorker.job({ to: 'old@example.net' })]);
    const old = inserted[0];
    if (!old) throw new Error('job not inserted');
    await drainQueue(sql, { queue: MAIL_QUEUE, handler: dispatchJobs([mailWorker]) });

    const worker = spawnWorker(
      ['--workers', MODULE, '--queue', MAIL_QUEUE, '--retention-ms', '0'],
      env,
    );
    await worker.ready;
    await eventually('the old job to be pruned', async () => {
      const { rows } = await sql.query('SELECT 1 FROM rewind_jobs WHERE id = $1', [String(old.id)]);
      return rows.length === 0 ? true : undefined;
    });
    const cronJob = await eventually('a cron job to run', async () => {
      const { rows } = await sql.query(
        `SELECT state, args FROM rewind_jobs WHERE unique_key LIKE $1 AND state = 'completed'`,
        [`cron:${everySecond.name}:%`],
      );
      return rows[0];
    });
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;

    expect(cronJob).toEqual({ state: 'completed', args: { to: 'cron@example.net' } });
    expect(exit).toEqual({ code: 0, signal: null });
  });
});

describe('rewind worker arguments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-worker-args-'));
  const dataDir = join(dir, 'data');
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export const answer = 42;\n');
  const badCron = join(dir, 'bad-cron.mjs');
  writeFileSync(
    badCron,
    "export const nightly = { name: 'nightly', expression: 'at noon', queue: 'q', kind: 'k' };\n",
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['--sagas', join(dir, 'missing.ts')], `worker: --sagas ${join(dir, 'missing.ts')}: `],
    [['--sagas', empty], `worker: --sagas ${empty} exports no saga definitions`],
    [['--sagas', ''], 'worker: --sagas: expected a value'],
    [['--workers', empty], `worker: --workers ${empty} exports no job workers`],
    [['--concurrency', 'ten'], 'worker: --concurrency: expected a whole number from 1'],
    [['--grace-ms', '1.5'], 'worker: --grace-ms: expected a whole number from 0'],
    [['--retention-ms', '-1'], 'worker: --retention-ms: expected a whole number from 0'],
    [['--workers', badCron], `worker: --workers ${badCron}: cron schedule "nightly": `],
    [['--queue', 'mail'], 'worker: --queue mail: no worker runs it'],
  ])('refuses %j with exit code 2, naming the argument, and writes nothing', async (args, said) => {
    const worker = spawnWorker(args, { REWIND_DATA_DIR: dataDir });
    const exit = await worker.exited;

    expect(exit.code).toBe(2);
    expect(worker.stderr.join('\n')).toContain(`rewind: ${said}`);
    expect(worker.stdout).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });
});
