import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { jobFeeder } from '../../projections/job-feeder.js';
import { IN_DOUBT_FAILURE } from '../../src/core/engine-failures.js';
import type { RecordedEvent } from '../../src/core/events.js';
import { replay } from '../../src/core/evolve.js';
import { childSagaIdOf, type SagaId, sagaStreamName } from '../../src/core/ids.js';
import { initialSagaState, type SagaState, stepStateOf } from '../../src/core/state.js';
import type { EventStore } from '../../src/ports/event-store.js';
import type { SqlExecutor } from '../../src/ports/sql.js';
import { projectEvents } from '../../src/projection/job-projection.js';
import type { SagaRegistry } from '../../src/runtime/saga-registry.js';
import { replaysIdentically, verifyHistory } from '../../src/runtime/verify-history.js';
import {
  type CommandFacts,
  checkCommands,
  checkRollbackReason,
  foldStates,
  readCommandFacts,
} from './check-crash-commands.js';
import type { CrashCommand } from './crash-operator.js';
import {
  CHILD_CRASH_SAGA,
  CRASH_SAGA_STEPS,
  type CrashInput,
  PARENT_CRASH_SAGA,
} from './crash-sagas.js';

/**
 * The checker of a crash run: once every saga has ended and the workers have stopped, it reads
 * back every stream, effect and job and lists every broken promise as a violation.
 */

/** A saga the harness started, and with what. */
export interface StartedCrashSaga {
  readonly sagaId: SagaId;
  readonly saga: string;
  readonly input: CrashInput;
}

/** What the checker counted and found. */
export interface CrashCheck {
  /** Child sagas that parents started; counted in `completed` and `compensated` too. */
  readonly children: number;
  readonly completed: number;
  readonly compensated: number;
  /** In-doubt attempts run again under the same idempotency key. */
  readonly inDoubtRetried: number;
  /** In-doubt attempts failed by their policy (`onInDoubt: 'fail'`), rolling back. */
  readonly inDoubtFailed: number;
  /** Effects whose key was written more than once: re-runs the key deduplicated. */
  readonly deduplicated: number;
  /** Jobs taken over from a worker whose lease expired. */
  readonly rescuedJobs: number;
  /** Sagas (children included) sent a cancel while they ran, by the operator or their parent. */
  readonly cancelled: number;
  /** Sagas (children included) sent an undo once they had completed. */
  readonly undone: number;
  readonly violations: readonly string[];
}

const EffectRow = t.type({
  key: t.string,
  saga_id: t.string,
  step: t.string,
  kind: t.string,
  seq: t.string,
  attempts: t.number,
});
type EffectRow = t.TypeOf<typeof EffectRow>;

const JobStateRow = t.type({ state: t.string, count: t.number, lost: t.number });
const UniqueKeyRow = t.type({ unique_key: t.union([t.string, t.null]) });

function decodeRows<Row>(codec: t.Decoder<unknown, Row>, rows: readonly unknown[]): Row[] {
  return rows.map((row) => {
    const decoded = codec.decode(row);
    if (E.isLeft(decoded)) throw new Error('crash check: unexpected row shape');
    return decoded.right;
  });
}

async function readEffects(sql: SqlExecutor): Promise<Map<string, EffectRow[]>> {
  const result = await sql.query(
    'SELECT key, saga_id, step, kind, seq::text AS seq, attempts FROM crash_effects ' +
      'ORDER BY crash_effects.seq',
  );
  const bySaga = new Map<string, EffectRow[]>();
  for (const row of decodeRows(EffectRow, result.rows)) {
    bySaga.set(row.saga_id, [...(bySaga.get(row.saga_id) ?? []), row]);
  }
  return bySaga;
}

interface InDoubtCounts {
  retried: number;
  failed: number;
}

/** Counts the in-doubt attempts a history resolved, and how; `states` as {@link foldStates}. */
function countInDoubt(events: readonly RecordedEvent[], states: readonly SagaState[]) {
  const counts: InDoubtCounts = { retried: 0, failed: 0 };
  events.forEach(({ event }, i) => {
    const state = i === 0 ? initialSagaState : states[i - 1];
    if (state && state.status !== 'initial' && event.type === 'StepStarted') {
      if (stepStateOf(state, event.data.step).status === 'running') counts.retried += 1;
    }
    if (event.type === 'StepFailed' && event.data.failure.name === IN_DOUBT_FAILURE.name) {
      counts.failed += 1;
    }
  });
  return counts;
}

/** What a saga's history holds, read back and verified. */
interface LoadedSaga {
  readonly saga: StartedCrashSaga;
  readonly events: readonly RecordedEvent[];
  /** The state after each event. */
  readonly states: readonly SagaState[];
  readonly state: SagaState;
  readonly inDoubt: InDoubtCounts;
  readonly commands: CommandFacts;
}

function stepsOf(saga: string) {
  return CRASH_SAGA_STEPS[saga] ?? { tasks: [], all: [] };
}

function failsAt(saga: StartedCrashSaga, steps: readonly string[]): boolean {
  return saga.input.failAt !== null && steps.includes(saga.input.failAt);
}

/**
 * The end a saga's input and history call for: rolled back when one of its steps (or its
 * child's) was declined, or when an in-doubt attempt was failed (the strict saga's charge at
 * once; any step once its worker was lost on every one of its attempts), when it (or its
 * child) was sent a cancel while it ran, when it was sent an undo once completed, or, for a
 * child, when its parent rolled back; completed otherwise.
 */
function expectedStatus(loaded: LoadedSaga, related: LoadedSaga | undefined): string {
  const { saga, inDoubt, commands } = loaded;
  if (inDoubt.failed > 0 || failsAt(saga, stepsOf(saga.saga).all)) return 'compensated';
  if (commands.cancelledWhileRunning || commands.undoneAfterCompletion !== undefined) {
    return 'compensated';
  }
  if (saga.saga === PARENT_CRASH_SAGA) {
    const child = stepsOf(CHILD_CRASH_SAGA).all;
    if (failsAt(saga, child) || (related?.inDoubt.failed ?? 0) > 0) return 'compensated';
    if (related?.commands.cancelledWhileRunning) return 'compensated';
  }
  if (saga.saga === CHILD_CRASH_SAGA && related?.state.status === 'compensated') {
    return 'compensated';
  }
  return 'completed';
}

function checkCompleted(loaded: LoadedSaga, effects: readonly EffectRow[]) {
  const { saga, state } = loaded;
  const problems: string[] = [];
  if (state.status === 'initial') return problems;
  const { tasks, all } = stepsOf(saga.saga);
  for (const step of all) {
    if (stepStateOf(state, step).status !== 'completed') problems.push(`${step} not completed`);
  }
  for (const step of tasks) {
    if (!effects.some((row) => row.kind === 'do' && row.key === `${saga.sagaId}:${step}`)) {
      problems.push(`${step} completed without its effect`);
    }
  }
  const undos = effects.filter((row) => row.kind !== 'do');
  if (undos.length > 0) problems.push(`undone although completed: ${undos.map((r) => r.key)}`);
  return problems;
}

function checkCompensated(loaded: LoadedSaga, effects: readonly EffectRow[]) {
  const { saga, state, events } = loaded;
  const problems: string[] = [];
  if (state.status === 'initial') return problems;
  const undone = new Set(effects.filter((row) => row.kind !== 'do').map((row) => row.key));
  for (const row of effects.filter((effect) => effect.kind === 'do')) {
    if (!undone.has(`${row.key}:compensate`)) problems.push(`effect ${row.key} not undone`);
  }
  const reverse = [...state.completionOrder].reverse();
  const { tasks } = stepsOf(saga.saga);
  const expectedUndos = reverse.filter((step) => tasks.includes(step));
  const undoOrder = effects.filter((row) => row.kind === 'undo').map((row) => row.step);
  if (JSON.stringify(undoOrder) !== JSON.stringify(expectedUndos)) {
    problems.push(`undo effects in order ${undoOrder}, expected ${expectedUndos}`);
  }
  const recorded = events.flatMap((r) =>
    r.event.type === 'StepCompensated' && state.completionOrder.includes(r.event.data.step)
      ? [r.event.data.step]
      : [],
  );
  if (JSON.stringify(recorded) !== JSON.stringify(reverse)) {
    problems.push(`StepCompensated in order ${recorded}, expected ${reverse}`);
  }
  return problems;
}

/** Every attempt of a step used the step's one key: `<saga>:<step>`, or the child's id. */
function checkKeys(loaded: LoadedSaga): string[] {
  const { saga, events } = loaded;
  const { tasks } = stepsOf(saga.saga);
  return events.flatMap((recorded) => {
    const { event } = recorded;
    if (event.type !== 'StepStarted') return [];
    const { step } = event.data;
    const expected = tasks.includes(step)
      ? `${saga.sagaId}:${step}`
      : childSagaIdOf(saga.sagaId, step);
    return event.data.idempotencyKey === expected
      ? []
      : [`revision ${recorded.revision}: key ${event.data.idempotencyKey}, expected ${expected}`];
  });
}

/** A saga read back: what is wrong with its history, and the history if it folds. */
interface ReadSaga {
  readonly problem: string | undefined;
  readonly loaded: LoadedSaga | undefined;
}

/**
 * Reads a saga back: its history must decode, pass verify and replay identically. A history
 * that fails verify or replay but still folds is judged too, so its end and effects are
 * reported beside the divergence.
 */
async function loadSaga(
  store: EventStore,
  registry: SagaRegistry,
  saga: StartedCrashSaga,
): Promise<ReadSaga> {
  const read = await store.readStream(sagaStreamName(saga.sagaId));
  if (E.isLeft(read)) return { problem: 'does not decode', loaded: undefined };
  const events = read.right;
  // A child whose parent never reached its step was never started.
  if (events.length === 0 && saga.saga === CHILD_CRASH_SAGA) {
    return { problem: undefined, loaded: undefined };
  }
  const verified = verifyHistory(registry, events);
  let problem: string | undefined;
  if (E.isLeft(verified)) {
    const { revision, eventType, detail } = verified.left;
    problem = `verify diverges at ${revision} (${eventType}): ${detail}`;
  } else if (!replaysIdentically(events)) problem = 'replays to different states';
  const state = replay(events);
  if (E.isLeft(state)) return { problem: problem ?? 'does not fold', loaded: undefined };
  const states = foldStates(events);
  const inDoubt = countInDoubt(events, states);
  const commands = readCommandFacts({ events, states });
  return { problem, loaded: { saga, events, states, state: state.right, inDoubt, commands } };
}

function judgeSaga(
  loaded: LoadedSaga,
  related: LoadedSaga | undefined,
  effects: readonly EffectRow[],
): string[] {
  const { state } = loaded;
  const problems = checkKeys(loaded);
  const expected = expectedStatus(loaded, related);
  if (state.status !== expected) problems.push(`ended ${state.status}, history says ${expected}`);
  if (state.status === 'completed') problems.push(...checkCompleted(loaded, effects));
  if (state.status === 'compensated') problems.push(...checkCompensated(loaded, effects));
  problems.push(...checkRollbackReason(state, loaded.commands));
  return problems;
}

/** The started sagas and the children their parents start, by id. */
function withChildren(sagas: readonly StartedCrashSaga[]): StartedCrashSaga[] {
  return sagas.flatMap((saga) =>
    saga.saga === PARENT_CRASH_SAGA
      ? [saga, { ...saga, saga: CHILD_CRASH_SAGA, sagaId: childSagaIdOf(saga.sagaId, 'pack') }]
      : [saga],
  );
}

function relatedOf(saga: StartedCrashSaga, loaded: ReadonlyMap<string, LoadedSaga>) {
  if (saga.saga === PARENT_CRASH_SAGA) return loaded.get(childSagaIdOf(saga.sagaId, 'pack'));
  if (saga.saga !== CHILD_CRASH_SAGA) return undefined;
  const parentId = saga.sagaId.slice(0, saga.sagaId.lastIndexOf('.'));
  return loaded.get(parentId);
}

async function checkJobs(sql: SqlExecutor): Promise<{ rescued: number; problems: string[] }> {
  const result = await sql.query(
    'SELECT state, count(*)::int AS count, coalesce(sum(lost_attempts), 0)::int AS lost ' +
      'FROM rewind_jobs GROUP BY state',
  );
  const problems: string[] = [];
  let rescued = 0;
  for (const row of decodeRows(JobStateRow, result.rows)) {
    rescued += row.lost;
    if (row.state !== 'completed') problems.push(`${row.count} job(s) left ${row.state}`);
  }
  return { rescued, problems };
}

/** Every event that needs a job has exactly one, and no job lacks its event. */
async function checkProjection(store: EventStore, sql: SqlExecutor): Promise<string[]> {
  const expected = new Set<string>();
  let after = -1n;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (E.isLeft(page)) return [`readAll does not decode: ${page.left.streamName}`];
    for (const job of projectEvents(jobFeeder, page.right)) {
      if (job.uniqueKey) expected.add(job.uniqueKey);
    }
    const last = page.right.at(-1);
    if (!last) break;
    after = last.position;
  }
  const result = await sql.query('SELECT unique_key FROM rewind_jobs');
  const actual = decodeRows(UniqueKeyRow, result.rows).map((row) => row.unique_key ?? '');
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const key of actual) {
    if (seen.has(key)) problems.push(`job ${key} inserted twice`);
    seen.add(key);
    if (!expected.has(key)) problems.push(`job ${key} has no event`);
  }
  for (const key of expected) if (!seen.has(key)) problems.push(`event skipped: no job ${key}`);
  return problems;
}

/** Checks a finished crash run, and the operator's commands in it. */
export async function checkCrashRun(
  store: EventStore,
  sql: SqlExecutor,
  registry: SagaRegistry,
  sagas: readonly StartedCrashSaga[],
  commands: readonly CrashCommand[] = [],
): Promise<CrashCheck> {
  const effects = await readEffects(sql);
  const violations: string[] = [];
  const counts = {
    children: 0,
    completed: 0,
    compensated: 0,
    inDoubtRetried: 0,
    inDoubtFailed: 0,
    cancelled: 0,
    undone: 0,
  };
  const loaded = new Map<string, LoadedSaga>();
  const all = withChildren(sagas);
  for (const saga of all) {
    const result = await loadSaga(store, registry, saga);
    if (result.problem) violations.push(`saga ${saga.sagaId}: ${result.problem}`);
    if (result.loaded) loaded.set(saga.sagaId, result.loaded);
  }
  for (const saga of all) {
    const one = loaded.get(saga.sagaId);
    if (!one) continue;
    if (saga.saga === CHILD_CRASH_SAGA) counts.children += 1;
    if (one.state.status === 'completed') counts.completed += 1;
    if (one.state.status === 'compensated') counts.compensated += 1;
    counts.inDoubtRetried += one.inDoubt.retried;
    counts.inDoubtFailed += one.inDoubt.failed;
    if (one.commands.cancelledWhileRunning) counts.cancelled += 1;
    if (one.commands.undoneAfterCompletion !== undefined) counts.undone += 1;
    const problems = judgeSaga(one, relatedOf(saga, loaded), effects.get(saga.sagaId) ?? []);
    violations.push(...problems.map((problem) => `saga ${saga.sagaId}: ${problem}`));
  }
  violations.push(...(await checkCommands(store, commands)));
  const jobs = await checkJobs(sql);
  violations.push(...jobs.problems, ...(await checkProjection(store, sql)));
  const deduplicated = [...effects.values()].flat().filter((row) => row.attempts > 1).length;
  return { ...counts, deduplicated, rescuedJobs: jobs.rescued, violations };
}
