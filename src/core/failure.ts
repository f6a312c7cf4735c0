import type { RecordedFailure } from './events.js';

function describeThrown(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? `${item}n` : item));
  } catch {
    return String(value);
  }
}

/**
 * Turns whatever a step threw into a failure for the history. A step may throw a non-Error
 * (a string, an array, undefined); the value is kept, described, under a name that says so,
 * rather than replaced by an error of our own (BC-11).
 */
export function toRecordedFailure(thrown: unknown): RecordedFailure {
  if (thrown instanceof Error) {
    const cause = thrown.cause === undefined ? {} : { cause: describeThrown(thrown.cause) };
    return {
      name: thrown.name,
      message: thrown.message,
      ...(thrown.stack ? { stack: thrown.stack } : {}),
      ...cause,
    };
  }
  return {
    name: 'NonErrorThrown',
    message: `the step threw a non-Error value: ${describeThrown(thrown)}`,
  };
}

/**
 * Whether a thrown value asks not to be retried: an object with `retryable: false`. Errors
 * are told apart by a property, not by class, so errors from other packages can opt in.
 */
export function isMarkedNonRetryable(thrown: unknown): boolean {
  return (
    typeof thrown === 'object' &&
    thrown !== null &&
    'retryable' in thrown &&
    thrown.retryable === false
  );
}
