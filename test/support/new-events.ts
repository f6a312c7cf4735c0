import { randomUUID } from 'node:crypto';

import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';

import type { NewEvent, SagaEvent } from '../../src/core/events.js';
import { EventId, SagaId, type StreamName, sagaStreamName } from '../../src/core/ids.js';

function decodeOrThrow<Value>(codec: t.Decoder<unknown, Value>, value: unknown): Value {
  const decoded = codec.decode(value);
  if (E.isLeft(decoded)) throw new Error(`test fixture does not decode: ${String(value)}`);
  return decoded.right;
}

/** A new saga id and the name of its stream. */
export function createSagaStream(): { sagaId: SagaId; streamName: StreamName } {
  const sagaId = decodeOrThrow(SagaId, `saga-${randomUUID()}`);
  return { sagaId, streamName: sagaStreamName(sagaId) };
}

/** An event ready to append, with a fresh id and test metadata. */
export function createNewEvent(event: SagaEvent): NewEvent {
  return {
    eventId: decodeOrThrow(EventId, randomUUID()),
    event,
    metadata: {
      actor: { id: 'user-1', tenant: 'acme' },
      correlationId: 'corr-1',
      causationId: null,
      occurredAt: new Date(0).toISOString(),
      engineVersion: 'test',
    },
  };
}
