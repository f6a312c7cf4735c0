import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';

import { SagaEvent } from '../../src/core/events.js';
import type { SagaId } from '../../src/core/ids.js';
import { decodeValue, encodeValue } from '../../src/core/values.js';

const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.string(),
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((pairs) => new Map(pairs)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
    fc.constant({ $rewind: 'bigint', value: 'not really' }),
  ),
}));

describe('saga values', () => {
  it('BC-21: decode(encode(x)) equals x, types included, through JSON text', () => {
    fc.assert(
      fc.property(value, (original) => {
        const encoded = encodeValue(original);
        if (E.isLeft(encoded)) throw new Error(encoded.left.reason);
        const decoded = decodeValue(JSON.parse(JSON.stringify(encoded.right)));
        expect(decoded).toEqual(E.right(original));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a hole of a sparse array as undefined, not null', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested.
    const encoded = encodeValue([1, , 3]);
    if (E.isLeft(encoded)) throw new Error(encoded.left.reason);
    expect(decodeValue(JSON.parse(JSON.stringify(encoded.right)))).toEqual(
      E.right([1, undefined, 3]),
    );
  });

  it('keeps a key named __proto__ as a key', () => {
    const original = JSON.parse('{"__proto__": {"admin": true}, "a": 1}');
    const encoded = encodeValue(original);
    if (E.isLeft(encoded)) throw new Error(encoded.left.reason);
    const decoded = decodeValue(JSON.parse(JSON.stringify(encoded.right)));
    expect(decoded).toEqual(E.right(original));
    expect(E.isRight(decoded) && Object.keys(decoded.right as object)).toEqual(['__proto__', 'a']);
  });

  it('BC-21: refuses what it cannot keep, naming the path', () => {
    class Money {}
    expect(encodeValue({ a: [1, { fn: () => 1 }] }, 'input')).toEqual(
      E.left({
        _tag: 'UnsupportedValueFailure',
        path: 'input.a[1].fn',
        reason: 'a function cannot be stored',
      }),
    );
    expect(encodeValue(new Map([['k', new Money()]]), 'input')).toMatchObject(
      E.left({ path: 'input.<value 0>', reason: 'an instance of Money cannot be stored' }),
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(encodeValue(cyclic)).toMatchObject(E.left({ path: 'value.self' }));
  });

  it('round-trips a NaN input of SagaStarted (io-ts intersection merge)', () => {
    const event: SagaEvent = {
      type: 'SagaStarted',
      data: {
        sagaId: 's1' as SagaId,
        saga: 'x',
        version: 1,
        definitionHash: 'h',
        input: Number.NaN,
      },
    };
    const stored = JSON.parse(JSON.stringify(SagaEvent.encode(event)));
    expect(SagaEvent.decode(stored)).toEqual(E.right(event));
  });

  it('round-trips every saga event through its codec', () => {
    fc.assert(
      fc.property(value, (output) => {
        const events: SagaEvent[] = [
          {
            type: 'SagaStarted',
            data: {
              sagaId: 's1' as SagaId,
              saga: 'x',
              version: 1,
              definitionHash: 'h',
              input: output,
            },
          },
          { type: 'StepCompleted', data: { step: 'a', attempt: 1, output } },
          { type: 'SagaResumeRequested', data: { payload: output } },
        ];
        for (const event of events) {
          const stored = JSON.parse(JSON.stringify(SagaEvent.encode(event)));
          expect(SagaEvent.decode(stored)).toEqual(E.right(event));
        }
      }),
      { numRuns: 200 },
    );
  });
});
