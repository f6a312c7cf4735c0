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
  /** Fires when the step must stop: timeout, cancellation, shutdown. */
  readonly signal: AbortSignal;
}

/** The outputs of the steps that a step depends on. */
export interface StepResults {
  /** The recorded output of `step`, which must be among the dependencies (`after`). */
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
 * equal to the key the step itself used.
 */
export interface CompensationContext<Input> extends StepContext {
  readonly input: Input;
}

/** How a step is written. */
export interface StepSpec<Input, Output> {
  /** Steps whose results this step takes; it runs after all of them completed. Default: none. */
  readonly after?: readonly StepDefinition<Input, unknown>[];
  /** Does the work. Its resolved value is recorded and must be storable (see values.ts). */
  run(args: StepArgs<Input>, ctx: StepContext): Promise<Output>;
  /** Undoes the work, given the recorded output. Must be idempotent. Default: nothing to undo. */
  compensate?(output: Output, ctx: CompensationContext<Input>): Promise<void>;
  /** Default: one attempt. */
  readonly retry?: RetryPolicy;
  /**
   * What to do with an attempt found started but never finished (its worker died): `retry` it
   * with the same idempotency key (the default) or treat it as `fail`ed, which rolls back.
   */
  readonly onInDoubt?: 'retry' | 'fail';
}

/** A step of a saga, as {@link defineSaga} built it. */
export interface StepDefinition<Input, Output> extends StepSpec<Input, Output> {
  readonly name: string;
  /** Names of the steps in `after`. */
  readonly dependsOn: readonly string[];
}

/** Builds a step; given to the `steps` function of {@link defineSaga}. */
export type StepFactory<Input> = <Output>(
  name: string,
  spec: StepSpec<Input, Output>,
) => StepDefinition<Input, Output>;

/** A saga definition: a named, versioned graph of steps over a validated input. */
export interface SagaDefinition<Input> {
  readonly name: string;
  readonly version: number;
  /** Decodes and checks the input given at start. */
  readonly input: t.Type<Input, unknown, unknown>;
  /** In the order written; every step comes after the steps it depends on. */
  readonly steps: readonly StepDefinition<Input, unknown>[];
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
  /** Declares the steps, in an order where each comes after those it depends on. */
  readonly steps: (
    step: StepFactory<t.TypeOf<Codec>>,
  ) => readonly StepDefinition<t.TypeOf<Codec>, unknown>[];
}

const STEP_NAME = /^[A-Za-z][\w-]*$/;

function createStep<Input, Output>(
  name: string,
  spec: StepSpec<Input, Output>,
): StepDefinition<Input, Output> {
  if (!STEP_NAME.test(name)) {
    throw new Error(
      `step name "${name}" must start with a letter and hold only letters, digits, _ or -`,
    );
  }
  return { ...spec, name, dependsOn: (spec.after ?? []).map((dependency) => dependency.name) };
}

function checkSteps(saga: string, steps: readonly StepDefinition<unknown, unknown>[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    if (seen.has(step.name)) throw new Error(`saga ${saga}: step "${step.name}" is declared twice`);
    for (const dependency of step.dependsOn) {
      if (!seen.has(dependency)) {
        throw new Error(
          `saga ${saga}: step "${step.name}" depends on "${dependency}", which is not declared before it`,
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
    dependsOn: step.dependsOn,
    compensates: step.compensate !== undefined,
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
  const steps = spec.steps(createStep);
  checkSteps(spec.name, steps);
  const byName = new Map(steps.map((step) => [step.name, step]));
  return {
    name: spec.name,
    version: spec.version,
    input: spec.input,
    steps,
    hash: hashShape(spec.name, spec.version, steps),
    stepNamed: (name) => byName.get(name),
  };
}
