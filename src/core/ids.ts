import * as t from 'io-ts';

/**
 * Branded identifiers: a saga id cannot be passed where a stream name is expected. Each codec
 * checks only that the string is not empty; where the id comes from is the caller's business.
 */

export interface SagaIdBrand {
  readonly SagaId: unique symbol;
}
/** The id of one saga run, chosen at start. */
export const SagaId = t.brand(
  t.string,
  (s): s is t.Branded<string, SagaIdBrand> => s.length > 0,
  'SagaId',
);
export type SagaId = t.TypeOf<typeof SagaId>;

export interface StreamNameBrand {
  readonly StreamName: unique symbol;
}
/** The name of an event stream, such as `saga-<sagaId>`. */
export const StreamName = t.brand(
  t.string,
  (s): s is t.Branded<string, StreamNameBrand> => s.length > 0,
  'StreamName',
);
export type StreamName = t.TypeOf<typeof StreamName>;

export interface EventIdBrand {
  readonly EventId: unique symbol;
}
/** The id of one event, unique in the store; an append retried with the same id is a no-op. */
export const EventId = t.brand(
  t.string,
  (s): s is t.Branded<string, EventIdBrand> => s.length > 0,
  'EventId',
);
export type EventId = t.TypeOf<typeof EventId>;

const STREAM_PREFIX = 'saga-';

/** The stream that holds one saga's events. */
export function sagaStreamName(sagaId: SagaId): StreamName {
  return `${STREAM_PREFIX}${sagaId}` as StreamName;
}

/** The saga id of a saga stream, or undefined for a stream that is not a saga's. */
export function sagaIdOfStream(stream: StreamName): SagaId | undefined {
  if (!stream.startsWith(STREAM_PREFIX)) return undefined;
  const id = stream.slice(STREAM_PREFIX.length);
  return id.length > 0 ? (id as SagaId) : undefined;
}

/** The id of the child saga that step `step` of saga `parent` starts: derived, not random. */
export function childSagaIdOf(parent: SagaId, step: string): SagaId {
  return `${parent}.${step}` as SagaId;
}
