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

/** An ISO 8601 time, such as `2026-12-03T20:00:00Z`. */
export const TimeArgument = new t.Type<Date, string, unknown>(
  'Time',
  (u): u is Date => u instanceof Date,
  (u, context) => {
    const time = typeof u === 'string' ? new Date(u) : undefined;
    return time && !Number.isNaN(time.getTime())
      ? t.success(time)
      : t.failure(u, context, 'expected an ISO 8601 time');
  },
  (value) => value.toISOString(),
);

export { SagaId as SagaIdArgument };

/** Decodes one command-line argument, or says which one and why not. */
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
