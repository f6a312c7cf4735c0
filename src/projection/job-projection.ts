import type { RecordedEvent } from '../core/events.js';
import type { NewJob } from '../queue/job.js';

/**
 * A projection definition: which events become which jobs. Pure: the same event always gives
 * the same jobs in the same order, which is what makes replaying a projection safe.
 *
 * @example
 * const feeder: JobProjection = {
 *   name: 'feeder',
 *   project: ({ event }) =>
 *     event.type === 'SagaStarted'
 *       ? [{ queue: 'sagas', kind: 'saga', args: { sagaId: event.data.sagaId } }]
 *       : [],
 * };
 */
export interface JobProjection {
  /** The projection's name; also the name of its checkpoint. */
  readonly name: string;
  /** The jobs that an event needs; `[]` for events that need none. */
  project(event: RecordedEvent): readonly NewJob[];
}

/**
 * The unique key given to the `index`-th job of an event when the projection gives none:
 * `<projection>:<eventId>:<index>`. Event ids are unique in the store, so an event read twice
 * (a replay, or two projectors racing) never makes a second job.
 */
export function deriveJobUniqueKey(
  projectionName: string,
  event: RecordedEvent,
  index: number,
): string {
  return `${projectionName}:${event.eventId}:${index}`;
}

/** The jobs of a batch of events, each with a unique key. */
export function projectEvents(
  projection: JobProjection,
  events: readonly RecordedEvent[],
): NewJob[] {
  return events.flatMap((event) =>
    projection.project(event).map((job, index) => ({
      ...job,
      uniqueKey: job.uniqueKey ?? deriveJobUniqueKey(projection.name, event, index),
    })),
  );
}
