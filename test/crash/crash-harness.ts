import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import * as E from 'fp-ts/lib/Either.js';
import pg from 'pg';

import { migrate } from '../../src/adapters/postgres/migrate.js';
import { createPgSqlClient } from '../../src/adapters/postgres/pg-sql-client.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { Rewind } from '../../src/runtime/rewind.js';
import { type CrashCheck, checkCrashRun, type StartedCrashSaga } from './check-crash-run.js';
import {
  CREATE_COMMANDS_TABLE,
  type CrashCommand,
  CrashOperator,
  countCommands,
  recordCommands,
} from './crash-operator.js';
import {
  CRASH_SAGA,
  CRASH_STEPS,
  CREATE_EFFECTS_TABLE,
  type CrashHooks,
  type CrashInput,
  createCrashSagas,
  PARENT_CRASH_SAGA,
  STRICT_CRASH_SAGA,
} from './crash-sagas.js';
import { createRandom } from './random.js';

/**
 * The crash harness: real worker processes on real Postgres, killed with SIGKILL at chosen
 * moments and restarted, while an operator cancels and undoes some sagas (see
 * {@link CrashOperator}), then a check of every saga, effect, command and job. A run is seeded:
 * the seed picks the workload, where each kill lands, which commands go out when, and the
 * workers' lingering. Process timing is the operating system's, so a replayed seed makes the
 * same choices but not always the same interleaving.
 */

/** Options of {@link runCrashHarness}. */
export interface CrashHarnessOptions {
  readonly databaseUrl: string;
  readonly seed: number;
  /** Sagas started. */
  readonly sagas: number;
  /** Kills aimed for; the run ends when the sagas have ended, with at least this many kills. */
  readonly kills: number;
  /** Worker processes kept alive. Default: 4. */
  readonly workers?: number;
  /** Lease of a saga job; a killed worker's job is rescued after it. Default: 1500 ms. */
  readonly leaseMs?: number;
  /** Longest linger in a crash window. Default: 40 ms. */
  readonly lingerMs?: number;
  /** The run fails if the sagas have not ended by then. Default: 10 minutes. */
  readonly timeoutMs?: number;
  /** Progress lines. Default: none. */
  readonly log?: (line: string) => void;
}

/** What a crash run did and found. */
export interface CrashReport extends CrashCheck {
  readonly seed: number;
  readonly schema: string;
  readonly sagas: number;
  readonly kills: number;
  /** Kills by the window they landed in (`random` for a kill at an arbitrary moment). */
  readonly killsByWindow: Readonly<Record<string, number>>;
  readonly restarts: number;
  readonly elapsedMs: number;
  /** The sagas started, to check the run again. */
  readonly sagaList: readonly StartedCrashSaga[];
  /** The operator's commands and what each returned. */
  readonly commands: readonly CrashCommand[];
}

/** The entry point of a worker process. */
export const WORKER_PROCESS = join(import.meta.dirname, 'worker-process.ts');

/** The windows kills are aimed at, in turn; `random` is a kill at an arbitrary moment. */
const TARGETS = [
  'step:before',
  'step:effect',
  'append:StepCompleted',
  'undo:before',
  'random',
  'undo:effect',
  'append:terminal',
  'projection:tx',
  'append:other',
] as const;

/** Hooks for a process that starts and checks crash sagas but never runs their steps. */
export const PASSIVE_CRASH_HOOKS: CrashHooks = {
  sql: { query: async () => ({ rows: [], rowCount: 0 }), exec: async () => {} },
  window: async () => {},
};

interface Worker {
  readonly id: number;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  alive: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one statement on its own connection, outside any schema (create or drop one). */
export async function runAdmin(url: string, statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** Where a parent saga's run may fail: its own steps, or its child's. */
const PARENT_FAIL_POINTS = ['reserve', 'box', 'label', 'ship'];

function generateWorkload(random: () => number, count: number) {
  const pick = (steps: readonly string[]) => steps[Math.floor(random() * steps.length)] ?? null;
  return Array.from({ length: count }, (_, n) => {
    const kind = random();
    const saga = kind < 0.25 ? PARENT_CRASH_SAGA : kind < 0.5 ? STRICT_CRASH_SAGA : CRASH_SAGA;
    const steps = saga === PARENT_CRASH_SAGA ? PARENT_FAIL_POINTS : CRASH_STEPS;
    const input: CrashInput = {
      n,
      failAt: random() < 0.3 ? pick(steps) : null,
      flakyAt: random() < 0.2 ? pick(steps) : null,
    };
    return { saga, input };
  });
}

class CrashRun {
  readonly #random: () => number;
  readonly #workers = new Map<number, Worker>();
  readonly #killsByWindow: Record<string, number> = {};
  #kills = 0;
  #restarts = 0;
  #nextId = 0;
  #target = 0;
  #targetSince = Date.now();
  #lastKill = 0;
  #stopping = false;
  /** Share of the sagas that have ended, 0 to 1: kills are spread over the run by it. */
  progress = 0;

  constructor(
    private readonly options: CrashHarnessOptions,
    private readonly schema: string,
    /** Hears every window a worker announces, before a kill may land in it. */
    private readonly onWindow: (window: string, sagaId: string, step: string) => void,
  ) {
    this.#random = createRandom(options.seed);
  }

  get kills() {
    return this.#kills;
  }

  get killsByWindow() {
    return this.#killsByWindow;
  }

  get restarts() {
    return this.#restarts;
  }

  random(): number {
    return this.#random();
  }

  async spawnWorker(): Promise<void> {
    const id = this.#nextId++;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS], {
      env: {
        ...process.env,
        DATABASE_URL: this.options.databaseUrl,
        CRASH_SCHEMA: this.schema,
        CRASH_SEED: String(this.options.seed * 1000 + id),
        CRASH_LINGER_MS: String(this.options.lingerMs ?? 40),
        CRASH_LEASE_MS: String(this.options.leaseMs ?? 1500),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const worker: Worker = { id, child, exited, alive: true };
    this.#workers.set(id, worker);
    const ready = new Promise<void>((resolve) => {
      if (!child.stdout) return resolve();
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'READY') resolve();
        else if (line.startsWith('W ')) {
          const [, window = '', sagaId = '', step = ''] = line.split(' ');
          this.onWindow(window, sagaId, step);
          this.#onWindow(worker, window);
        }
      });
      child.once('exit', () => resolve());
    });
    await ready;
  }

  /** Aims the next kill at another kind of window. */
  #rotate(): void {
    this.#target = Math.floor(this.#random() * TARGETS.length);
    this.#targetSince = Date.now();
  }

  #onWindow(worker: Worker, window: string): void {
    if (!worker.alive || !this.#canKill()) return;
    const target = TARGETS[this.#target];
    // A window that does not come within a few seconds (no rollback running now, say) gives
    // way to another.
    if (Date.now() - this.#targetSince > 1500) this.#rotate();
    if (window !== target || this.#random() >= 0.5) return;
    this.#kill(worker, window);
  }

  #canKill(): boolean {
    // Kills keep pace with the sagas ending, so they land early, midway and late in the run.
    const allowed = Math.ceil(this.options.kills * Math.min(1, this.progress * 1.2 + 0.05));
    return !this.#stopping && this.#kills < allowed && Date.now() - this.#lastKill > 250;
  }

  #kill(worker: Worker, window: string): void {
    worker.alive = false;
    worker.child.kill('SIGKILL');
    this.#kills += 1;
    this.#lastKill = Date.now();
    this.#killsByWindow[window] = (this.#killsByWindow[window] ?? 0) + 1;
    this.#workers.delete(worker.id);
    this.#rotate();
    const delay = 100 + Math.floor(this.#random() * 400);
    setTimeout(() => {
      if (this.#stopping) return;
      this.#restarts += 1;
      this.spawnWorker().catch((error: unknown) => this.options.log?.(`respawn: ${error}`));
    }, delay);
  }

  /** Kills a worker at an arbitrary moment when `random` is the target. */
  tick(): void {
    if (TARGETS[this.#target] !== 'random' || !this.#canKill()) return;
    const alive = [...this.#workers.values()].filter((worker) => worker.alive);
    const victim = alive[Math.floor(this.#random() * alive.length)];
    if (victim && this.#random() < 0.5) this.#kill(victim, 'random');
  }

  async stopAll(): Promise<void> {
    this.#stopping = true;
    const workers = [...this.#workers.values()];
    for (const worker of workers) worker.child.kill('SIGTERM');
    const deadline = sleep(10_000).then(() => {
      for (const worker of workers) worker.child.kill('SIGKILL');
    });
    await Promise.race([Promise.all(workers.map((worker) => worker.exited)), deadline]);
    await Promise.all(workers.map((worker) => worker.exited));
  }
}

/**
 * Sagas the harness started that have ended: their last event is terminal (an undone saga
 * ends twice). Child sagas (ids with a dot) are not counted.
 */
const TERMINAL_COUNT = `SELECT count(*)::int AS n FROM (
    SELECT DISTINCT ON (stream_name) type FROM rewind_events
    WHERE position('.' IN stream_name) = 0
    ORDER BY stream_name, revision DESC
  ) AS last
  WHERE type IN ('SagaCompleted', 'SagaCompensated', 'SagaFailed')`;
/**
 * Jobs a rescue should have taken long ago (BC-01, BC-02): executing well past their lease. A
 * killed worker's job is rescued at the first claim after its lease expires.
 */
const STALE_LEASES = `SELECT count(*)::int AS n FROM rewind_jobs
  WHERE state = 'executing' AND lease_expires_at < now() - interval '15 seconds'`;
const OPEN_JOBS = `SELECT count(*)::int AS n FROM rewind_jobs WHERE state <> 'completed'
  AND state <> 'discarded' AND state <> 'cancelled'`;

async function countRows(sql: SqlClient, statement: string): Promise<number> {
  const row = (await sql.query(statement)).rows[0];
  return typeof row?.n === 'number' ? row.n : 0;
}

async function startSagas(
  rewind: Rewind,
  run: CrashRun,
  operator: CrashOperator,
  workload: ReturnType<typeof generateWorkload>,
  started: StartedCrashSaga[],
): Promise<void> {
  const definitions = new Map(rewind.registry.all().map((d) => [d.name, d]));
  for (const [index, { saga, input }] of workload.entries()) {
    const definition = definitions.get(saga);
    if (!definition) throw new Error(`no saga ${saga}`);
    const result = await rewind.start(definition, input, { actor: { id: 'crash-harness' } });
    if (E.isLeft(result)) throw new Error(`start failed: ${result.left._tag}`);
    const one = { sagaId: result.right.sagaId, saga, input };
    started.push(one);
    operator.plan(one);
    // A trickle, so that kills land among sagas at every stage.
    if (index % 10 === 9) await sleep(50 + Math.floor(run.random() * 100));
  }
}

async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  onTick: () => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    onTick();
    await sleep(100);
  }
  return false;
}

/** What the wait for the sagas' end saw: whether they ended, and leases left stale. */
interface Ending {
  readonly ended: boolean;
  readonly staleLeases: readonly string[];
}

/** Waits until every saga started has ended, pacing the kills by the share that has. */
async function waitForSagas(
  sql: SqlClient,
  run: CrashRun,
  options: CrashHarnessOptions,
  started: readonly StartedCrashSaga[],
  deadline: number,
): Promise<Ending> {
  let lastLog = Date.now();
  const staleLeases: string[] = [];
  const ended = await waitUntil(
    async () => {
      const count = await countRows(sql, TERMINAL_COUNT);
      run.progress = count / options.sagas;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const stale = await countRows(sql, STALE_LEASES);
        if (stale > 0) staleLeases.push(`${stale} job(s) executing 15 s past their lease`);
        options.log?.(`crash: ${count}/${options.sagas} sagas ended, ${run.kills} kills`);
      }
      return started.length === options.sagas && count >= options.sagas;
    },
    deadline - Date.now(),
    () => run.tick(),
  );
  return { ended, staleLeases };
}

/** Runs the crash harness once and checks the outcome; see {@link CrashReport}. */
export async function runCrashHarness(options: CrashHarnessOptions): Promise<CrashReport> {
  const began = Date.now();
  const schema = `rewind_crash_${options.seed}_${randomBytes(3).toString('hex')}`;
  await runAdmin(options.databaseUrl, `CREATE SCHEMA ${schema}`);
  const sql = createPgSqlClient({ connectionString: options.databaseUrl, schema });
  await migrate(sql);
  await sql.exec(CREATE_EFFECTS_TABLE);
  await sql.exec(CREATE_COMMANDS_TABLE);
  const rewind = new Rewind({ sql, sagas: createCrashSagas(PASSIVE_CRASH_HOOKS) });
  const { store, clock, ids } = rewind;
  const operator = new CrashOperator({ store, clock, ids }, options.seed);
  const run = new CrashRun(options, schema, (window, sagaId, step) =>
    operator.onWindow(window, sagaId, step),
  );
  const workload = generateWorkload(run.random.bind(run), options.sagas);
  const started: StartedCrashSaga[] = [];
  options.log?.(
    `crash: seed ${options.seed}, schema ${schema}, ${options.sagas} sagas, ${options.kills} kills`,
  );
  try {
    await Promise.all(Array.from({ length: options.workers ?? 4 }, () => run.spawnWorker()));
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    const starting = startSagas(rewind, run, operator, workload, started);
    const first = await waitForSagas(sql, run, options, started, deadline);
    await starting;
    // Commands whose window never came go out now, to sagas that have ended (an undo of a
    // completed one starts its rollback), and the undone sagas end again.
    await operator.flush();
    const second = await waitForSagas(sql, run, options, started, deadline);
    // Jobs woken by the last events (a child's end, a late retry) still run; let them.
    await waitUntil(
      async () => (await countRows(sql, OPEN_JOBS)) === 0,
      30_000,
      () => {},
    );
    await run.stopAll();
    const { commands } = operator;
    await recordCommands(sql, commands);
    const check = await checkCrashRun(rewind.store, sql, rewind.registry, started, commands);
    const violations = [
      ...(first.ended && second.ended ? [] : ['timeout: not every saga ended']),
      ...first.staleLeases,
      ...second.staleLeases,
      ...check.violations,
    ];
    return {
      ...check,
      violations,
      seed: options.seed,
      schema,
      sagas: started.length,
      kills: run.kills,
      killsByWindow: run.killsByWindow,
      restarts: run.restarts,
      elapsedMs: Date.now() - began,
      sagaList: started,
      commands,
    };
  } finally {
    await run.stopAll();
    await operator.settle();
    await sql.close();
  }
}

/** Drops the schema of a run; keep it instead when the run found violations, to look into. */
export function dropCrashSchema(databaseUrl: string, schema: string): Promise<void> {
  return runAdmin(databaseUrl, `DROP SCHEMA ${schema} CASCADE`);
}

/** The report as lines of text. */
export function formatCrashReport(report: CrashReport): string[] {
  const windows = Object.entries(report.killsByWindow)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([window, count]) => `${window}=${count}`)
    .join(' ');
  return [
    `seed:        ${report.seed} (replay with CRASH_SEED=${report.seed})`,
    `schema:      ${report.schema}`,
    `sagas:       ${report.sagas} started, and ${report.children} child sagas they started ` +
      `(${report.completed} completed, ${report.compensated} compensated)`,
    `kills:       ${report.kills} (${windows})`,
    `restarts:    ${report.restarts}`,
    `commands:    ${countCommands(report.commands)}; ${report.cancelled} sagas cancelled ` +
      `while running, ${report.undone} undone once completed (children included)`,
    `recoveries:  ${report.rescuedJobs + report.inDoubtRetried + report.inDoubtFailed} ` +
      `(${report.rescuedJobs} jobs rescued, ${report.inDoubtRetried} in-doubt attempts retried, ` +
      `${report.inDoubtFailed} failed by policy; ${report.deduplicated} effects deduplicated)`,
    `violations:  ${report.violations.length}`,
    ...report.violations.slice(0, 30).map((violation) => `  - ${violation}`),
    `took:        ${(report.elapsedMs / 1000).toFixed(1)} s`,
  ];
}
