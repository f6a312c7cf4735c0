import { AsyncLocalStorage } from 'node:async_hooks';

import type { StepContext } from '../core/definition.js';

const storage = new AsyncLocalStorage<StepContext>();

/**
 * The context of the step or compensation running in this async call chain, across awaits,
 * timers and Promise.all (BC-22); undefined outside a step.
 */
export function currentStepContext(): StepContext | undefined {
  return storage.getStore();
}

/** Runs `work` with `ctx` as the current step context. */
export function runInStepContext<Result>(
  ctx: StepContext,
  work: () => Promise<Result>,
): Promise<Result> {
  return storage.run(ctx, work);
}

/** What `ctx.halt` throws; the runner turns it into SagaHalted. */
export interface HaltRequest {
  readonly code: 'SAGA_HALT_REQUESTED';
  readonly reason: string;
}

/** Whether a thrown value is a halt request. */
export function isHaltRequest(thrown: unknown): thrown is HaltRequest {
  return (
    typeof thrown === 'object' &&
    thrown !== null &&
    'code' in thrown &&
    thrown.code === 'SAGA_HALT_REQUESTED' &&
    'reason' in thrown &&
    typeof thrown.reason === 'string'
  );
}

/** Throws a halt request; the body of `ctx.halt`. */
export function requestHalt(reason: string): never {
  const request: HaltRequest = { code: 'SAGA_HALT_REQUESTED', reason };
  throw request;
}
