import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';

import type { SqlRow } from '../ports/sql.js';

/** A job row that does not decode: which job, which field, and why. Nothing was changed by it. */
export interface JobDecodeFailure {
  readonly _tag: 'JobDecodeFailure';
  /** The row's `id` as text, or `unknown` when the id itself is missing. */
  readonly jobId: string;
  /** The path to the offending field, such as `errors.0.at`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Thrown when a row that this process has just written does not decode: a broken invariant (a
 * migration and the codecs disagree), not an outcome to handle.
 */
export class JobDecodeError extends Error {
  override readonly name = 'JobDecodeError';

  constructor(readonly failure: JobDecodeFailure) {
    super(`job ${failure.jobId}: ${failure.path}: ${failure.message}`);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  // An invalid Date has no ISO form: toISOString would throw while describing the failure.
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function describeError(error: t.ValidationError): { path: string; message: string } {
  const keys = error.context.map((entry) => entry.key).filter((key) => key !== '');
  const expected = error.context.at(-1)?.type.name ?? 'a valid value';
  return {
    path: keys.length > 0 ? keys.join('.') : '<row>',
    message: error.message ?? `expected ${expected}, got ${describeValue(error.value)}`,
  };
}

function jobIdOf(row: SqlRow): string {
  const id = row.id;
  return typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint'
    ? String(id)
    : 'unknown';
}

/** Decodes one job row with `codec`, or says which job and which field is wrong. */
export function decodeJobRow<Decoded>(
  codec: t.Decoder<unknown, Decoded>,
  row: SqlRow,
): E.Either<JobDecodeFailure, Decoded> {
  const decoded = codec.decode(row);
  if (E.isRight(decoded)) return decoded;
  const first = decoded.left[0];
  const { path, message } = first
    ? describeError(first)
    : { path: '<row>', message: 'does not decode' };
  return E.left({ _tag: 'JobDecodeFailure', jobId: jobIdOf(row), path, message });
}

/** Decodes a row that this process has just written; throws {@link JobDecodeError} if it fails. */
export function decodeWrittenJobRow<Decoded>(
  codec: t.Decoder<unknown, Decoded>,
  row: SqlRow,
): Decoded {
  const decoded = decodeJobRow(codec, row);
  if (E.isLeft(decoded)) throw new JobDecodeError(decoded.left);
  return decoded.right;
}
