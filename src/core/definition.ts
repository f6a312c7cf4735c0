import type * as t from 'io-ts';

import type { Actor } from './events.js';
import { hashString } from './hash.js';
import type { SagaId } from './ids.js';
import type { Logger } from './logger.js';
import type { RetryPolicy } from './retry.js';

/** What a running step or compensation knows about where it runs. */
export interface StepContext {
  readonly sagaId: SagaId;
  /** The saga definition's name. */
  readonly saga: string;
  /** The step's name; `name[i]` for the i-th element of a map step. */
  readonly step: string;
  /** 1 for the first try. */
  readonly attempt: number;
  /** The same for every attempt of this step in this saga: pass it to external systems. */
  readonly idempotencyKey: string;
  /** Who started the saga (or, for operator commands, who asked). */
  readonly actor: Actor;
  readonly correlationId: string;
  /** A child logger bound to saga id, step and attempt. */
  readonly logger: Logger;
  /** Fires when the step must stop: timeout, cancellation, shutdown, lost lease. */
  readonly signal: AbortSignal;
  /**
   * Halts the saga until a resume command arrives; the resume's payload becomes this step's
   * output. Throws, so write `ctx.halt('waiting for approval')` as the step's last statement.
   */
  halt(reason: string): never;
}

/** The outputs of the steps that a step depends on. */
export interface StepResults {
  /**
   * The recorded output of `step`, which must be among the dependencies (`after`). For a map
   * step, the outputs of its elements in order; for a child saga step, the child's outputs.
   */
  get<Output>(step: StepDefinition<never, Output>): Output;
}

/** The arguments of a step's `run`. */
export interface StepArgs<Input> {
  readonly input: Input;
  readonly results: StepResults;
}

/**
 * The context of a compensation: the step's context plus the saga input. Its `idempotencyKey`
 * is the step's key with `:compensate` appended, the same for every try of the undo and never
 * equal to the key the step itself used; `stepIdempotencyKey` is the key the step used.
 */
export interface CompensationContext<Input> extends StepContext {
  readonly input: Input;
  readonly stepIdempotencyKey: string;
}

/** What every kind of step may say about when and how it runs. */
export interface StepOptions<Input> {
  /** Steps whose results this step takes; it runs after all of them completed. Default: none. */
  readonly after?: readonly StepDefinition<Input, unknown>[];
  /**
   * A branch: when this returns false the step is skipped (recorded as StepSkipped, never
   * compensated), and so is every step after it. Must be pure. Default: always run.
   */
  when?(args: StepArgs<Input>): boolean;
  /** Default: one attempt. */
  readonly retry?: RetryPolicy;
  /** The attempt's signal fires, and the attempt fails with StepTimeoutFailure, after this. */
  readonly timeoutMs?: number;
  /**
   * What to do with an attempt found started but never finished (its worker died): `retry` it
   * with the same idempotency key (the default) or treat it as `fail`ed, which rolls back.
   */
  readonly onInDoubt?: 'retry' | 'fail';
}

/** How a step is written. */
export interface StepSpec<Input, Output> extends StepOptions<Input> {
  /** Does the work. Its resolved value is recorded and must be storable (see values.ts). */
  run(args: StepArgs<Input>, ctx: StepContext): Promise<Output>;
  /** Undoes the work, given the recorded output. Must be idempotent. Default: nothing to undo. */
  compensate?(output: Output, ctx: CompensationContext<Input>): Promise<void>;
  /**
   * Undoes whatever an attempt that failed, timed out or was lost may have done before it
   * ended: its change may have happened although no output was recorded (BC-12). Runs during
   * the rollback, before the completed steps are undone. Default: nothing.
   */
  compensateAttempt?(ctx: CompensationContext<Input>): Promise<void>;
  /** How often the undo is tried before the saga ends SagaFailed. Default: 3 attempts. */
  readonly compensateRetry?: RetryPolicy;
  /**
   * Turns a failure (after the last attempt) into an output, so the saga goes on. Throw to
   * decline. Default: no recovery.
   */
  recover?(error: unknown, ctx: StepContext): Promise<Output>;
}

/** How a map step is written: one instance of `run` per element of `over`. */
export interface MapStepSpec<Input, Item, ItemOutput> extends StepOptions<Input> {
  /** The elements; must be pure, from the input and the dependencies' results. */
  over(args: StepArgs<Input>): readonly Item[];
  /** Runs one element; recorded as step `name[i]`. */
  run(item: Item, args: StepArgs<Input>, ctx: StepContext): Promise<ItemOutput>;
  /** Undoes one element; only completed elements are undone. */
  compensate?(output: ItemOutput, ctx: CompensationContext<Input>): Promise<void>;
  /** How often an element's undo is tried. Default: 3 attempts. */
  readonly compensateRetry?: RetryPolicy;
  /** Elements run at once. Default: the saga's `maxConcurrency`. */
  readonly concurrency?: number;
  /**
   * Elements are taken in batches of this many: a batch starts only when every element of the
   * batches before it has completed. Default: all elements in one batch.
   */
  readonly batchSize?: number;
}

/** How a child saga step is written: it starts `saga` and waits for it to end. */
export interface ChildSagaStepSpec<Input, ChildInput> extends StepOptions<Input> {
  readonly saga: SagaDefinition<ChildInput>;
  /** The child's input, from the parent's input and results; must be pure. */
  input(args: StepArgs<Input>): ChildInput;
}

/** The output of a child saga step: the outputs of the child's completed steps, by name. */
export type ChildSagaOutput = Readonly<Record<string, unknown>>;

/** What a step does, by kind; the engine's view, without the user's types. */
export type StepBody =
  | {
      readonly kind: 'task';
      run(args: StepArgs<unknown>, ctx: StepContext): Promise<unknown>;
      compensate?(output: unknown, ctx: CompensationContext<unknown>): Promise<void>;
      compensateAttempt?(ctx: CompensationContext<unknown>): Promise<void>;
      recover?(error: unknown, ctx: StepContext): Promise<unknown>;
      readonly compensateRetry?: RetryPolicy;
    }
  | {
      readonly kind: 'map';
      over(args: StepArgs<unknown>): readonly unknown[];
      run(item: unknown, args: StepArgs<unknown>, ctx: StepContext): Promise<unknown>;
      compensate?(output: unknown, ctx: CompensationContext<unknown>): Promise<void>;
      readonly concurrency?: number;
      readonly batchSize?: number;
      readonly compensateRetry?: RetryPolicy;
    }
  | {
      readonly kind: 'child';
      readonly saga: AnySagaDefinition;
      input(args: StepArgs<unknown>): unknown;
    };

/** A step of a saga, as {@link defineSaga} built it. */
export interface StepDefinition<Input, Output> {
  readonly name: string;
  /** Names of the steps in `after`. */
  readonly dependsOn: readonly string[];
  readonly options: StepOptions<Input>;
  readonly body: StepBody;
  /** For typing only (`results.get`); never set. */
  readonly outputType?: Output;
}

/** Builds the steps of a saga; given to the `steps` function of {@link defineSaga}. */
export interface StepFactory<Input> {
  /** A step that runs a function. */
  <Output>(name: string, spec: StepSpec<Input, Output>): StepDefinition<Input, Output>;
  /** A step that runs `run` once per element of `over`, as steps `name[0]`, `name[1]`… */
  map<Item, ItemOutput>(
    name: string,
    spec: MapStepSpec<Input, Item, ItemOutput>,
  ): StepDefinition<Input, readonly ItemOutput[]>;
  /** A step that starts a child saga, with its own stream, and waits for it to end. */
  child<ChildInput>(
    name: string,
    spec: ChildSagaStepSpec<Input, ChildInput>,
  ): StepDefinition<Input, ChildSagaOutput>;
}

/** The undo's retry policy when a step gives none. */
export const DEFAULT_COMPENSATE_RETRY: RetryPolicy = { maxAttempts: 3 };

/** Default {@link SagaSpec.maxConcurrency}. */
export const DEFAULT_MAX_CONCURRENCY = 8;

/** A saga definition: a named, versioned graph of steps over a validated input. */
export interface SagaDefinition<Input> {
  readonly name: string;
  readonly version: number;
  /** Decodes and checks the input given at start. */
  readonly input: t.Type<Input, unknown, unknown>;
  /** In the order written; every step comes after the steps it depends on. */
  readonly steps: readonly StepDefinition<Input, unknown>[];
  /** Steps of one saga run at once. */
  readonly maxConcurrency: number;
  /** A fingerprint of the shape (name, version, steps, dependencies, undo), recorded at start. */
  readonly hash: string;
  /** The step of a given name. */
  readonly stepNamed: (name: string) => StepDefinition<Input, unknown> | undefined;
}

/** A definition of any input, as the engine holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds definitions of every input type.
export type AnySagaDefinition = SagaDefinition<any>;

/** Options of {@link defineSaga}. */
export interface SagaSpec<Codec extends t.Mixed> {
  /** Stable name, recorded in every saga started from this definition. */
  readonly name: string;
  /** Bump it when the steps change; running sagas keep the version they started with. */
  readonly version: number;
  /** An io-ts codec of the input; an input that does not decode is refused at start. */
  readonly input: Codec;
  /** Steps of one saga run at once. Default: {@link DEFAULT_MAX_CONCURRENCY}. */
  readonly maxConcurrency?: number;
  /** Declares the steps, in an order where each comes after those it depends on. */
  readonly steps: (
    step: StepFactory<t.TypeOf<Codec>>,
  ) => readonly StepDefinition<t.TypeOf<Codec>, unknown>[];
}

const STEP_NAME = /^[A-Za-z][\w-]*$/;

function checkStepName(name: string): void {
  if (!STEP_NAME.test(name)) {
    throw new Error(
      `step name "${name}" must start with a letter and hold only letters, digits, _ or -`,
    );
  }
}

function optionsOf<Input>(spec: StepOptions<Input>): StepOptions<Input> {
  const { after, when, retry, timeoutMs, onInDoubt } = spec;
  return { after, when, retry, timeoutMs, onInDoubt };
}

function dependsOnOf<Input>(spec: StepOptions<Input>): readonly string[] {
  return (spec.after ?? []).map((dependency) => dependency.name);
}

function createStepFactory<Input>(): StepFactory<Input> {
  const task = <Output>(name: string, spec: StepSpec<Input, Output>) => {
    checkStepName(name);
    const body: StepBody = {
      kind: 'task',
      run: spec.run,
      ...(spec.compensate ? { compensate: spec.compensate } : {}),
      ...(spec.compensateAttempt ? { compensateAttempt: spec.compensateAttempt } : {}),
      ...(spec.recover ? { recover: spec.recover } : {}),
      ...(spec.compensateRetry ? { compensateRetry: spec.compensateRetry } : {}),
    };
    const step: StepDefinition<Input, Output> = {
      name,
      dependsOn: dependsOnOf(spec),
      options: optionsOf(spec),
      body,
    };
    return step;
  };
  const map = <Item, ItemOutput>(name: string, spec: MapStepSpec<Input, Item, ItemOutput>) => {
    checkStepName(name);
    const body: StepBody = {
      kind: 'map',
      over: spec.over,
      run: spec.run,
      ...(spec.compensate ? { compensate: spec.compensate } : {}),
      ...(spec.concurrency === undefined ? {} : { concurrency: spec.concurrency }),
      ...(spec.batchSize === undefined
        ? {}
        : { batchSize: Math.max(1, Math.floor(spec.batchSize)) }),
      ...(spec.compensateRetry ? { compensateRetry: spec.compensateRetry } : {}),
    };
    const step: StepDefinition<Input, readonly ItemOutput[]> = {
      name,
      dependsOn: dependsOnOf(spec),
      options: optionsOf(spec),
      body,
    };
    return step;
  };
  const child = <ChildInput>(name: string, spec: ChildSagaStepSpec<Input, ChildInput>) => {
    checkStepName(name);
    const step: StepDefinition<Input, ChildSagaOutput> = {
      name,
      dependsOn: dependsOnOf(spec),
      options: optionsOf(spec),
      body: { kind: 'child', saga: spec.saga, input: spec.input },
    };
    return step;
  };
  return Object.assign(task, { map, child });
}

function checkSteps(saga: string, steps: readonly StepDefinition<unknown, unknown>[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    if (seen.has(step.name)) throw new Error(`saga ${saga}: step "${step.name}" is declared twice`);
    for (const dependency of step.dependsOn) {
      if (!seen.has(dependency)) {
        throw new Error(
          `saga ${saga}: step "${step.name}" depends on "${dependency}", ` +
            'which is not declared before it',
        );
      }
    }
    seen.add(step.name);
  }
  if (steps.length === 0) throw new Error(`saga ${saga}: a saga needs at least one step`);
}

function hashShape(
  name: string,
  version: number,
  steps: readonly StepDefinition<unknown, unknown>[],
) {
  const shape = steps.map((step) => ({
    name: step.name,
    kind: step.body.kind,
    dependsOn: step.dependsOn,
    compensates: step.body.kind !== 'child' && step.body.compensate !== undefined,
    child: step.body.kind === 'child' ? `${step.body.saga.name}@${step.body.saga.version}` : null,
  }));
  return hashString(JSON.stringify({ name, version, shape }));
}

/**
 * Defines a saga: its name, version, input codec and steps.
 *
 * @example
 * const order = defineSaga({
 *   name: 'order',
 *   version: 1,
 *   input: t.type({ orderId: t.string, amountCents: t.number }),
 *   steps: (step) => {
 *     const reserve = step('reserve', {
 *       run: async ({ input }) => reserveStock(input.orderId),
 *       compensate: async (reservation) => releaseStock(reservation),
 *     });
 *     const charge = step('charge', {
 *       after: [reserve],
 *       run: async ({ input, results }, ctx) =>
 *         chargeCard(results.get(reserve), input.amountCents, ctx.idempotencyKey),
 *       compensate: async (payment) => refund(payment),
 *     });
 *     return [reserve, charge];
 *   },
 * });
 */
export function defineSaga<Codec extends t.Mixed>(
  spec: SagaSpec<Codec>,
): SagaDefinition<t.TypeOf<Codec>> {
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new Error(`saga ${spec.name}: version must be a positive integer`);
  }
  const steps = spec.steps(createStepFactory());
  checkSteps(spec.name, steps);
  const byName = new Map(steps.map((step) => [step.name, step]));
  return {
    name: spec.name,
    version: spec.version,
    input: spec.input,
    steps,
    maxConcurrency: spec.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    hash: hashShape(spec.name, spec.version, steps),
    stepNamed: (name) => byName.get(name),
  };
}
