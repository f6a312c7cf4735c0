import * as t from 'io-ts';

import { Actor, actorToJson, type RecordedEvent } from '../src/core/events.js';
import { SagaId, sagaIdOfStream } from '../src/core/ids.js';
import type { JobProjection } from '../src/projection/job-projection.js';
import type { NewJob } from '../src/queue/job.js';

/** The queue that saga jobs wait in. */
export const SAGA_QUEUE = 'rewind.sagas';

/** The kind of a job that advances one saga. */
export const SAGA_JOB_KIND = 'saga';

/**
 * The args of a saga job: which saga, and the actor it runs for (checked against the stream's
 * own record by the worker). Decoded with io-ts by the worker; a row that does not decode is
 * discarded with the decode error kept.
 */
export const SagaJobArgs = t.type({ sagaId: SagaId, actor: Actor, cause: t.string }, 'SagaJobArgs');
export type SagaJobArgs = t.TypeOf<typeof SagaJobArgs>;

/** What a saga job is about: which saga, for whom, why, and its key against duplicates. */
export interface SagaJobRequest {
  readonly sagaId: SagaId;
  readonly actor: Actor;
  readonly cause: string;
  readonly uniqueKey: string;
  readonly scheduledAt?: Date;
}

/** A job that advances one saga: the one shape of every saga job, wherever it is made. */
export function createSagaJob(request: SagaJobRequest): NewJob {
  const { sagaId, actor, cause, uniqueKey, scheduledAt } = request;
  return {
    queue: SAGA_QUEUE,
    kind: SAGA_JOB_KIND,
    args: { sagaId, actor: actorToJson(actor), cause },
    uniqueKey,
    // The jobs of one saga run one at a time, so no worker mistakes another's step in flight for
    // one in doubt.
    serialKey: `saga:${sagaId}`,
    ...(scheduledAt ? { scheduledAt } : {}),
  };
}

function sagaJob(
  recorded: RecordedEvent,
  sagaId: SagaId | undefined,
  scheduledAt?: Date,
): NewJob[] {
  if (sagaId === undefined) return [];
  // One job per event and saga: replaying the projection over the same events inserts nothing
  // new.
  const uniqueKey = `saga-event:${recorded.eventId}:${sagaId}`;
  const { actor } = recorded.metadata;
  return [
    createSagaJob({
      sagaId,
      actor,
      cause: recorded.event.type,
      uniqueKey,
      ...(scheduledAt ? { scheduledAt } : {}),
    }),
  ];
}

/**
 * The job feeder: which saga events need a worker. A started saga needs one now; a retry needs
 * one at its due time; an operator's command needs one now; a child saga's end needs one for
 * its parent. Every other event is written by the worker already running the saga, which
 * carries on by itself.
 */
export const jobFeeder: JobProjection = {
  name: 'rewind.job-feeder',
  project(recorded) {
    const { event } = recorded;
    const own = sagaIdOfStream(recorded.streamName);
    switch (event.type) {
      case 'SagaStarted':
      case 'SagaCancelRequested':
      case 'SagaResumeRequested':
      case 'SagaUndoRequested':
      case 'SagaRetryRequested':
        return sagaJob(recorded, own);
      case 'StepRetryScheduled':
      case 'StepCompensationRetryScheduled':
        return sagaJob(recorded, own, new Date(event.data.dueAt));
      // A child's end wakes its parent, whose step waits for it.
      case 'SagaCompleted':
      case 'SagaCompensated':
      case 'SagaFailed':
        return sagaJob(recorded, event.data.parent?.sagaId);
      default:
        return [];
    }
  },
};
