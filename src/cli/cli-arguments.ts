import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { describeDecodeErrors } from '../core/decode-failure.js';
import { SagaId } from '../core/ids.js';

/** A revision as typed on the command line: a decimal integer from 0. */
export const RevisionArgument = new t.Type<bigint, string, unknown>(
  'Revision',
  (u): u is bigint => typeof u === 'bigint',
  (u, context) =>
    typeof u === 'string' && /^\d+$/.test(u)
      ? t.success(BigInt(u))
      : t.failure(u, context, 'expected an event number from 0'),
  (value) => value.toString(),
);

/** A port number. */
export const PortArgument = new t.Type<number, string, unknown>(
  'Port',
  (u): u is number => typeof u === 'number',
  (u, context) => {
    const port = typeof u === 'string' && /^\d+$/.test(u) ? Number(u) : Number.NaN;
    return port >= 0 && port < 65536
      ? t.success(port)
      : t.failure(u, context, 'expected a port from 0 to 65535');
  },
  String,
);

/** A JSON text, parsed. */
export const JsonArgument = new t.Type<unknown, string, unknown>(
  'Json',
  (u): u is unknown => true,
  (u, context) => {
    if (typeof u !== 'string') return t.failure(u, context, 'expected JSON text');
    try {
      const parsed: unknown = JSON.parse(u);
      return t.success(parsed);
    } catch (error) {
      return t.failure(u, context, `not JSON: ${error instanceof Error ? error.message : ''}`);
    }
  },
  (value) => JSON.stringify(value),
);

/**
 * A date or time in ISO 8601, such as `2026-12-03` or `2026-12-03T20:00:00Z`. `Date` alone also
 * takes `1` (the year 2001) or `March 7`, so the form is checked before the value.
 */
export const TimeArgument = new t.Type<Date, string, unknown>(
  'Time',
  (u): u is Date => u instanceof Date,
  (u, context) => {
    const time = typeof u === 'string' && ISO_8601.test(u) ? new Date(u) : undefined;
    return time && !Number.isNaN(time.getTime())
      ? t.success(time)
      : t.failure(u, context, 'expected an ISO 8601 time, such as 2026-12-03T20:00:00Z');
  },
  (value) => value.toISOString(),
);

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** A text that is not empty nor only spaces: a name, a file, a reason. */
export const NonEmptyArgument = new t.Type<string, string, unknown>(
  'NonEmpty',
  (u): u is string => typeof u === 'string' && u.trim() !== '',
  (u, context) =>
    typeof u === 'string' && u.trim() !== ''
      ? t.success(u)
      : t.failure(u, context, 'expected a value, not an empty one'),
  String,
);

/** A whole number in decimal digits from `minimum` (no sign, exponent, fraction or hex). */
export function WholeNumberArgument(minimum: number): t.Type<number, string, unknown> {
  return new t.Type<number, string, unknown>(
    'WholeNumber',
    (u): u is number => typeof u === 'number',
    (u, context) => {
      const value = typeof u === 'string' && /^\d+$/.test(u) ? Number(u) : Number.NaN;
      return Number.isSafeInteger(value) && value >= minimum
        ? t.success(value)
        : t.failure(u, context, `expected a whole number from ${minimum}`);
    },
    String,
  );
}

/** One of the keys of `keys` (an io-ts `keyof`), the others listed when it is not. */
export function OneOfArgument<Keys extends Record<string, unknown>>(
  keys: t.KeyofC<Keys>,
): t.Type<keyof Keys & string, string, unknown> {
  const names = Object.keys(keys.keys);
  const listed = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  return new t.Type<keyof Keys & string, string, unknown>(
    keys.name,
    (u): u is keyof Keys & string => typeof u === 'string' && keys.is(u),
    (u, context) =>
      typeof u === 'string' && keys.is(u)
        ? t.success(u)
        : t.failure(u, context, `expected one of ${listed}`),
    String,
  );
}

/**
 * A saga id as typed on the command line: a {@link SagaId}, not empty nor only spaces (the
 * core's codec takes any non-empty text, so `"   "` would be looked up and reported missing).
 */
export const SagaIdArgument = new t.Type<SagaId, string, unknown>(
  'SagaId',
  (u): u is SagaId => SagaId.is(u) && u.trim() !== '',
  (u, context) =>
    typeof u === 'string' && u.trim() !== ''
      ? SagaId.validate(u, context)
      : t.failure(u, context, 'expected a saga id, not an empty one or only spaces'),
  String,
);

/**
 * Decodes one command-line argument, or says which one and why not: `list: --status: expected
 * one of running, … (got "stuck")`. Every command decodes its arguments with this, so a bad one
 * is refused the same way everywhere (exit 2, before anything is opened or written).
 */
export function decodeArgument<Value>(
  codec: t.Decoder<unknown, Value>,
  name: string,
  value: unknown,
): E.Either<string, Value> {
  const decoded = codec.decode(value);
  if (E.isRight(decoded)) return decoded;
  const { message } = describeDecodeErrors(decoded.left);
  return E.left(`${name}: ${message} (got ${JSON.stringify(value)})`);
}

/** {@link decodeArgument} for an option that may be absent: absent stays undefined. */
export function decodeOptionalArgument<Value>(
  codec: t.Decoder<unknown, Value>,
  name: string,
  value: unknown,
): E.Either<string, Value | undefined> {
  return value === undefined ? E.right(undefined) : decodeArgument(codec, name, value);
}

/**
 * Refuses two arguments out of order: `later` before `earlier`, or equal to it when `strict`
 * (a time range `[from, before)` that holds nothing).
 */
export function checkArgumentOrder<Value extends bigint | Date>(
  earlier: readonly [name: string, value: Value],
  later: readonly [name: string, value: Value],
  strict: boolean,
): E.Either<string, void> {
  const [earlierName, earlierValue] = earlier;
  const [laterName, laterValue] = later;
  const outOfOrder = strict
    ? laterValue.valueOf() <= earlierValue.valueOf()
    : laterValue.valueOf() < earlierValue.valueOf();
  if (!outOfOrder) return E.right(undefined);
  const show = (value: Value) => (value instanceof Date ? value.toISOString() : String(value));
  return E.left(
    `${laterName} (${show(laterValue)}) must come ${strict ? 'after' : 'at or after'} ` +
      `${earlierName} (${show(earlierValue)})`,
  );
}
