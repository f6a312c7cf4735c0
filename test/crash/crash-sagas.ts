import * as t from 'io-ts';

import {
  type AnySagaDefinition,
  type CompensationContext,
  defineSaga,
  type StepContext,
  type StepDefinition,
  type StepFactory,
} from '../../src/core/definition.js';
import type { SqlExecutor } from '../../src/ports/sql.js';

/**
 * The sagas of the crash harness. Each step writes its effect to `crash_effects`, keyed by the
 * step's idempotency key (`INSERT … ON CONFLICT`, counting attempts, so a re-run is visible but
 * never a second effect), and each undo writes an undo row keyed by the compensation's key. At
 * chosen moments ("windows") a step calls `hooks.window`, which in a worker process announces
 * the moment to the harness and lingers in it, so the harness can kill the process right there.
 */

/** Where a step or undo stands when it opens a window. */
export type CrashWindow =
  | 'step:before'
  | 'step:effect'
  | 'undo:before'
  | 'undo:effect'
  | 'append:StepCompleted'
  | 'append:terminal'
  | 'append:other'
  | 'projection:tx';

/** What the crash sagas call out to. */
export interface CrashHooks {
  readonly sql: SqlExecutor;
  window(name: CrashWindow, sagaId: string, step: string): Promise<void>;
}

/** The effects table, created by the harness in its schema. */
export const CREATE_EFFECTS_TABLE = `
CREATE TABLE IF NOT EXISTS crash_effects (
  key text PRIMARY KEY,
  saga_id text NOT NULL,
  step text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('do', 'undo', 'undo-attempt')),
  seq bigserial NOT NULL,
  attempts integer NOT NULL DEFAULT 1
)`;

const RECORD_EFFECT = `
INSERT INTO crash_effects (key, saga_id, step, kind) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET attempts = crash_effects.attempts + 1`;

/** The input of a crash saga: where it fails for good, where it fails once, if anywhere. */
export const CrashInput = t.type(
  { n: t.number, failAt: t.union([t.string, t.null]), flakyAt: t.union([t.string, t.null]) },
  'CrashInput',
);
export type CrashInput = t.TypeOf<typeof CrashInput>;

/** The step names of every crash saga, in definition order. */
export const CRASH_STEPS = ['reserve', 'charge', 'notify', 'ship'] as const;

/** The saga whose middle step is a child saga, and the child's. */
export const PARENT_CRASH_SAGA = 'crash-order-parent';
export const CHILD_CRASH_SAGA = 'crash-pack';

/** Per saga: its task steps (which write effects), and every step, in definition order. */
export const CRASH_SAGA_STEPS: Readonly<
  Record<string, { readonly tasks: readonly string[]; readonly all: readonly string[] }>
> = {
  'crash-order': { tasks: CRASH_STEPS, all: CRASH_STEPS },
  'crash-order-strict': { tasks: CRASH_STEPS, all: CRASH_STEPS },
  'crash-order-parent': { tasks: ['reserve', 'ship'], all: ['reserve', 'pack', 'ship'] },
  'crash-pack': { tasks: ['box', 'label'], all: ['box', 'label'] },
};

/** The name of the plain crash saga, whose in-doubt steps are retried. */
export const CRASH_SAGA = 'crash-order';
/** The name of the strict crash saga, whose `charge` is failed (rolled back) when in doubt. */
export const STRICT_CRASH_SAGA = 'crash-order-strict';

const RETRY = { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 200 };

type Factory = StepFactory<CrashInput>;

function createStep(
  hooks: CrashHooks,
  step: Factory,
  name: string,
  options: { after: StepDefinition<CrashInput, unknown>[]; strict: boolean },
) {
  const record = (ctx: StepContext, kind: string, key: string) =>
    hooks.sql.query(RECORD_EFFECT, [key, ctx.sagaId, ctx.step, kind]);
  const undo = async (ctx: CompensationContext<CrashInput>, kind: 'undo' | 'undo-attempt') => {
    await hooks.window('undo:before', ctx.sagaId, name);
    await record(ctx, kind, ctx.idempotencyKey);
    await hooks.window('undo:effect', ctx.sagaId, name);
  };
  return step(name, {
    after: options.after,
    retry: RETRY,
    ...(options.strict ? { onInDoubt: 'fail' as const } : {}),
    run: async ({ input }, ctx) => {
      await hooks.window('step:before', ctx.sagaId, name);
      if (input.failAt === name) {
        throw Object.assign(new Error(`${name} declined`), { retryable: false });
      }
      if (input.flakyAt === name && ctx.attempt === 1) throw new Error(`${name} timed out`);
      await record(ctx, 'do', ctx.idempotencyKey);
      await hooks.window('step:effect', ctx.sagaId, name);
      return { key: ctx.idempotencyKey, attempt: ctx.attempt };
    },
    compensate: async (_output, ctx) => undo(ctx, 'undo'),
    // An attempt lost in doubt, or failed after its change, may have made it: undo it too.
    compensateAttempt: async (ctx) => undo(ctx, 'undo-attempt'),
  });
}

function createCrashSaga(hooks: CrashHooks, name: string, strict: boolean) {
  return defineSaga({
    name,
    version: 1,
    input: CrashInput,
    maxConcurrency: 4,
    steps: (step) => {
      const reserve = createStep(hooks, step, 'reserve', { after: [], strict: false });
      const charge = createStep(hooks, step, 'charge', { after: [reserve], strict });
      const notify = createStep(hooks, step, 'notify', { after: [reserve], strict: false });
      const ship = createStep(hooks, step, 'ship', { after: [charge, notify], strict: false });
      return [reserve, charge, notify, ship];
    },
  });
}

function createParentSaga(hooks: CrashHooks) {
  const child = defineSaga({
    name: CHILD_CRASH_SAGA,
    version: 1,
    input: CrashInput,
    steps: (step) => {
      const box = createStep(hooks, step, 'box', { after: [], strict: false });
      const label = createStep(hooks, step, 'label', { after: [box], strict: false });
      return [box, label];
    },
  });
  const parent = defineSaga({
    name: PARENT_CRASH_SAGA,
    version: 1,
    input: CrashInput,
    steps: (step) => {
      const reserve = createStep(hooks, step, 'reserve', { after: [], strict: false });
      const pack = step.child('pack', {
        after: [reserve],
        saga: child,
        input: ({ input }) => input,
      });
      const ship = createStep(hooks, step, 'ship', { after: [pack], strict: false });
      return [reserve, pack, ship];
    },
  });
  return [parent, child];
}

/**
 * The crash sagas over `hooks`: `crash-order` (reserve, then charge and notify in parallel,
 * then ship), `crash-order-strict`, the same with `onInDoubt: 'fail'` on charge, and
 * `crash-order-parent` (reserve, a child saga `crash-pack` of box and label, then ship).
 */
export function createCrashSagas(hooks: CrashHooks): readonly AnySagaDefinition[] {
  return [
    createCrashSaga(hooks, CRASH_SAGA, false),
    createCrashSaga(hooks, STRICT_CRASH_SAGA, true),
    ...createParentSaga(hooks),
  ];
}
