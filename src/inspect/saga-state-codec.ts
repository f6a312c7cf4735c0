import * as t from 'io-ts';

import { Actor, BigIntFromStored, ParentRef, RecordedFailure } from '../core/events.js';
import { SagaId } from '../core/ids.js';
import type { SagaState } from '../core/state.js';
import { SagaValue } from '../core/values.js';

/**
 * The io-ts codec of a saga's folded state, so that it can be kept as JSON (snapshots, exports,
 * the web page) and read back decoded: revisions become decimal strings and saga values (input,
 * outputs) use the tagged encoding of src/core/values.ts.
 */

const optional = <Codec extends t.Mixed>(codec: Codec) => t.union([codec, t.undefined]);

const StepStateCodec = t.union([
  t.type({ status: t.literal('pending') }),
  t.type({
    status: t.literal('running'),
    attempt: t.number,
    idempotencyKey: t.string,
    startedAt: t.string,
    interruptions: t.number,
  }),
  t.type({
    status: t.literal('awaitingChild'),
    attempt: t.number,
    childSagaId: SagaId,
    startedAt: t.string,
  }),
  t.type({ status: t.literal('halted'), attempt: t.number, reason: t.string, startedAt: t.string }),
  t.type({
    status: t.literal('completed'),
    attempt: t.number,
    output: SagaValue,
    completedAt: t.string,
    recovered: t.boolean,
  }),
  t.type({ status: t.literal('failed'), attempt: t.number, failure: RecordedFailure }),
  t.type({
    status: t.literal('retryScheduled'),
    attempt: t.number,
    dueAt: t.string,
    interruptions: t.number,
  }),
  t.type({ status: t.literal('skipped'), reason: t.string }),
  t.type({ status: t.literal('compensated'), output: SagaValue }),
  t.type({
    status: t.literal('compensationFailed'),
    output: SagaValue,
    failure: RecordedFailure,
    undoing: t.keyof({ completed: null, failed: null }),
    attempt: t.number,
  }),
]);

const RollbackReasonCodec = t.type({ step: t.union([t.string, t.null]), failure: RecordedFailure });

const SagaFactsCodec = t.type({
  sagaId: SagaId,
  saga: t.string,
  version: t.number,
  definitionHash: t.string,
  input: SagaValue,
  actor: Actor,
  correlationId: t.string,
  startedAt: t.string,
  steps: t.record(t.string, StepStateCodec),
  completionOrder: t.readonlyArray(t.string),
  firstFailure: optional(RollbackReasonCodec),
  cancelRequested: optional(t.string),
  undoRequested: optional(t.string),
  resumePayload: optional(t.type({ payload: SagaValue })),
  parent: optional(ParentRef),
  compensationRetries: t.record(t.string, t.type({ attempt: t.number, dueAt: t.string })),
  revision: BigIntFromStored,
  updatedAt: t.string,
});

/** A saga's state as JSON; decodes to {@link SagaState}. */
export const SagaStateCodec = t.union(
  [
    t.type({ status: t.literal('initial') }),
    t.intersection([SagaFactsCodec, t.type({ status: t.literal('running') })]),
    t.intersection([
      SagaFactsCodec,
      t.type({ status: t.literal('compensating'), reason: RollbackReasonCodec }),
    ]),
    t.intersection([SagaFactsCodec, t.type({ status: t.literal('completed') })]),
    t.intersection([
      SagaFactsCodec,
      t.type({ status: t.literal('compensated'), reason: RollbackReasonCodec }),
    ]),
    t.intersection([
      SagaFactsCodec,
      t.type({
        status: t.literal('failed'),
        reason: optional(RollbackReasonCodec),
        failure: RecordedFailure,
      }),
    ]),
  ],
  'SagaState',
);

/** A state's JSON form, for printing, diffing and storing. */
export function encodeSagaState(state: SagaState): unknown {
  // Round-trip through JSON so that undefined fields disappear, as they would once stored.
  const json: unknown = JSON.parse(JSON.stringify(SagaStateCodec.encode(state)));
  return json;
}
