import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import { describe, expect, it } from 'vitest';

import { describeDecodeErrors } from '../../src/core/decode-failure.js';
import { EventMetadata, SagaEvent } from '../../src/core/events.js';

function describeFailure<Value>(codec: t.Decoder<unknown, Value>, value: unknown) {
  const decoded = codec.decode(value);
  if (E.isRight(decoded)) throw new Error('expected the value not to decode');
  return describeDecodeErrors(decoded.left);
}

const metadata = {
  actor: { id: 'user-1' },
  correlationId: 'c',
  causationId: null,
  occurredAt: '2026-01-01T00:00:00.000Z',
  engineVersion: 'test',
};

describe('describeDecodeErrors', () => {
  it('names the field of the event type that matched', () => {
    const event = { type: 'StepStarted', data: { step: 'pay', attempt: '1', idempotencyKey: 'k' } };

    expect(describeFailure(SagaEvent, event)).toStrictEqual({
      path: 'data.attempt',
      message: 'expected number, got "1"',
    });
  });

  it('follows intersections without naming their members', () => {
    const event = {
      type: 'StepFailed',
      data: { step: 'pay', attempt: 1, failure: { name: 'Error', message: 42 }, retryable: false },
    };

    expect(describeFailure(SagaEvent, event)).toStrictEqual({
      path: 'data.failure.message',
      message: 'expected string, got 42',
    });
  });

  it('names the tag field of an event of unknown type', () => {
    expect(describeFailure(SagaEvent, { type: 'StepExploded', data: {} })).toStrictEqual({
      path: 'type',
      message: 'expected a known type of SagaEvent, got "StepExploded"',
    });
  });

  it('names array items by index and missing fields as undefined', () => {
    const withRole = { ...metadata, actor: { id: 'user-1', roles: ['clerk', 7] } };
    const withoutId = { ...metadata, actor: {} };

    expect(describeFailure(EventMetadata, withRole)).toStrictEqual({
      path: 'actor.roles[1]',
      message: 'expected string, got 7',
    });
    expect(describeFailure(EventMetadata, withoutId)).toStrictEqual({
      path: 'actor.id',
      message: 'expected string, got undefined',
    });
  });

  it('reports a union of plain values under the union, not its first member', () => {
    expect(describeFailure(EventMetadata, { ...metadata, causationId: 42 })).toStrictEqual({
      path: 'causationId',
      message: 'expected (string | null), got 42',
    });
  });

  it('keeps the message a codec gives and reports the value itself with an empty path', () => {
    const started = {
      type: 'SagaStarted',
      data: {
        sagaId: 's-1',
        saga: 'transfer',
        version: 1,
        definitionHash: 'h',
        input: { amount: { $rewind: 'bigint', value: 'many' } },
      },
    };

    expect(describeFailure(SagaEvent, started)).toStrictEqual({
      path: 'data.input',
      message: 'a malformed bigint value',
    });
    expect(describeFailure(SagaEvent, 42)).toStrictEqual({
      path: '',
      message: 'expected SagaEvent, got 42',
    });
  });
});
