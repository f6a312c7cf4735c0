import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

/**
 * Saga values: what a saga input or a step output may hold, and how it is kept in JSON.
 *
 * Plain JSON would turn a Date into a string and lose a bigint, so a value read back after a
 * crash would differ in type from the value the first run saw (BC-21). Values that JSON cannot
 * hold are written as tagged objects, `{ "$rewind": tag, "value": … }`:
 *
 * | value | tag |
 * | --- | --- |
 * | bigint | `bigint` (decimal string) |
 * | Date | `date` (ISO string) |
 * | Map | `map` (array of [key, value]) |
 * | Set | `set` (array of members) |
 * | undefined | `undefined` |
 * | -0, NaN, ±Infinity | `number` (string) |
 * | a plain object that has a `$rewind` key itself | `object` (its entries) |
 *
 * Anything else (functions, symbols, class instances, invalid dates, cycles) is refused with the
 * path of the offending value, never silently converted.
 */

/** JSON as stored. */
export type Json =
  | null
  | boolean
  | number
  | string
  | readonly Json[]
  | { readonly [key: string]: Json };

/** A value that cannot be stored, with the path to it (`input.customer.birthday`). */
export interface UnsupportedValueFailure {
  readonly _tag: 'UnsupportedValueFailure';
  readonly path: string;
  readonly reason: string;
}

const TAG = '$rewind';

class UnsupportedValue extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

function tagged(tag: string, value: Json): Json {
  return { [TAG]: tag, value };
}

/**
 * Sets an own property, even one named `__proto__`, which plain assignment would take as the
 * object's prototype and so drop from the stored value.
 */
function setEntry<Value>(entries: Record<string, Value>, key: string, value: Value): void {
  Object.defineProperty(entries, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encodeNumber(value: number): Json {
  // String(-0) is '0': spell negative zero out, or it comes back as 0.
  if (Object.is(value, -0)) return tagged('number', '-0');
  if (!Number.isFinite(value)) return tagged('number', String(value));
  return value;
}

function encodeAt(value: unknown, path: string, seen: Set<object>): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return tagged('bigint', value.toString());
    case 'undefined':
      return tagged('undefined', null);
    case 'function':
    case 'symbol':
      throw new UnsupportedValue(path, `a ${typeof value} cannot be stored`);
    case 'object':
      if (value === null) return null;
      return encodeObject(value, path, seen);
  }
}

function encodeObject(value: object, path: string, seen: Set<object>): Json {
  if (seen.has(value)) throw new UnsupportedValue(path, 'a value that contains itself');
  seen.add(value);
  try {
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw new UnsupportedValue(path, 'an invalid Date');
      return tagged('date', value.toISOString());
    }
    if (Array.isArray(value)) {
      // Array.from visits holes too: a hole is kept as undefined, not turned into JSON's null.
      return Array.from(value, (item, i) => encodeAt(item, `${path}[${i}]`, seen));
    }
    if (value instanceof Map) {
      return tagged(
        'map',
        [...value].map(([key, item], i) => [
          encodeAt(key, `${path}.<key ${i}>`, seen),
          encodeAt(item, `${path}.<value ${i}>`, seen),
        ]),
      );
    }
    if (value instanceof Set) {
      return tagged(
        'set',
        [...value].map((item, i) => encodeAt(item, `${path}.<member ${i}>`, seen)),
      );
    }
    if (!isPlainObject(value)) {
      const name = value.constructor?.name ?? 'unknown';
      throw new UnsupportedValue(path, `an instance of ${name} cannot be stored`);
    }
    const entries: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      setEntry(entries, key, encodeAt(item, `${path}.${key}`, seen));
    }
    return TAG in entries ? tagged('object', entries) : entries;
  } finally {
    seen.delete(value);
  }
}

/** Encodes a value for storage, or says which part of it cannot be stored. */
export function encodeValue(
  value: unknown,
  path = 'value',
): E.Either<UnsupportedValueFailure, Json> {
  try {
    return E.right(encodeAt(value, path, new Set()));
  } catch (error) {
    if (error instanceof UnsupportedValue) {
      return E.left({ _tag: 'UnsupportedValueFailure', path: error.path, reason: error.reason });
    }
    throw error;
  }
}

function decodeTagged(tag: unknown, inner: unknown, path: string): unknown {
  switch (tag) {
    case 'bigint':
      if (typeof inner === 'string' && /^-?\d+$/.test(inner)) return BigInt(inner);
      break;
    case 'date':
      if (typeof inner === 'string' && !Number.isNaN(Date.parse(inner))) return new Date(inner);
      break;
    case 'undefined':
      return undefined;
    case 'number':
      if (typeof inner === 'string') return Number(inner);
      break;
    case 'map':
      if (Array.isArray(inner)) {
        return new Map(
          inner.map((pair: unknown, i) => {
            if (!Array.isArray(pair) || pair.length !== 2)
              throw new UnsupportedValue(path, 'bad map');
            return [
              decodeAt(pair[0], `${path}.<key ${i}>`),
              decodeAt(pair[1], `${path}.<value ${i}>`),
            ];
          }),
        );
      }
      break;
    case 'set':
      if (Array.isArray(inner))
        return new Set(inner.map((m, i) => decodeAt(m, `${path}.<member ${i}>`)));
      break;
    case 'object':
      if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
        return decodeEntries(inner, path);
      }
      break;
  }
  throw new UnsupportedValue(path, `a malformed ${String(tag)} value`);
}

function decodeEntries(value: object, path: string): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    setEntry(entries, key, decodeAt(item, `${path}.${key}`));
  }
  return entries;
}

function decodeAt(value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item, i) => decodeAt(item, `${path}[${i}]`));
  if (TAG in value) {
    const record: Record<string, unknown> = { ...value };
    return decodeTagged(record[TAG], record.value, path);
  }
  return decodeEntries(value, path);
}

/** Decodes a stored value back to the value that was encoded. */
export function decodeValue(
  json: unknown,
  path = 'value',
): E.Either<UnsupportedValueFailure, unknown> {
  try {
    return E.right(decodeAt(json, path));
  } catch (error) {
    if (error instanceof UnsupportedValue) {
      return E.left({ _tag: 'UnsupportedValueFailure', path: error.path, reason: error.reason });
    }
    throw error;
  }
}

/**
 * The io-ts codec of a saga value: decodes stored JSON to the live value, encodes a live value
 * to JSON. Encoding throws on an unsupported value, so check values with {@link encodeValue}
 * at the boundary (start, step result) before they reach an event.
 */
export const SagaValue = new t.Type<unknown, Json, unknown>(
  'SagaValue',
  (u): u is unknown => true,
  (u, context) => {
    const decoded = decodeValue(u);
    return E.isRight(decoded)
      ? t.success(decoded.right)
      : t.failure(u, context, decoded.left.reason);
  },
  (value) => {
    const encoded = encodeValue(value);
    if (E.isLeft(encoded)) throw new Error(`${encoded.left.path}: ${encoded.left.reason}`);
    return encoded.right;
  },
);
