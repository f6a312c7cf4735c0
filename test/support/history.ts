import type { EventMetadata, RecordedEvent, SagaEvent } from '../../src/core/events.js';
import type { EventId, SagaId, StreamName } from '../../src/core/ids.js';

/** Builds recorded events for given/when/then tests, numbered from revision 0. */
export function recordHistory(
  sagaId: string,
  events: readonly SagaEvent[],
  startAt = Date.parse('2026-01-01T00:00:00.000Z'),
): RecordedEvent[] {
  return events.map((event, i) => {
    const occurredAt = new Date(startAt + i * 1000).toISOString();
    const metadata: EventMetadata = {
      actor: { id: 'user-1', tenant: 'acme' },
      correlationId: `corr-${sagaId}`,
      causationId: null,
      occurredAt,
      engineVersion: 'test',
    };
    return {
      eventId: `${sagaId}-${i}` as EventId,
      event,
      metadata,
      streamName: `saga-${sagaId}` as StreamName,
      revision: BigInt(i),
      position: BigInt(i + 1),
      recordedAt: new Date(occurredAt),
    };
  });
}

/** Shorthands for the events of a saga `sagaId` in tests. */
export const sagaEvents = {
  started: (sagaId: string, input: unknown = {}, hash = 'hash'): SagaEvent => ({
    type: 'SagaStarted',
    data: { sagaId: sagaId as SagaId, saga: 'test', version: 1, definitionHash: hash, input },
  }),
  stepStarted: (sagaId: string, step: string, attempt = 1): SagaEvent => ({
    type: 'StepStarted',
    data: { step, attempt, idempotencyKey: `${sagaId}:${step}` },
  }),
  stepCompleted: (step: string, output: unknown = { done: step }, attempt = 1): SagaEvent => ({
    type: 'StepCompleted',
    data: { step, attempt, output },
  }),
  stepFailed: (step: string, retryable = false, attempt = 1): SagaEvent => ({
    type: 'StepFailed',
    data: { step, attempt, failure: { name: 'Error', message: `${step} broke` }, retryable },
  }),
  retryScheduled: (step: string, attempt: number, dueAt: string): SagaEvent => ({
    type: 'StepRetryScheduled',
    data: { step, attempt, dueAt },
  }),
  compensationStarted: (step: string | null): SagaEvent => ({
    type: 'CompensationStarted',
    data: { step, failure: { name: 'Error', message: `${step} broke` } },
  }),
  stepCompensated: (step: string): SagaEvent => ({ type: 'StepCompensated', data: { step } }),
};
