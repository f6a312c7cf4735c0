import * as t from 'io-ts';

/**
 * The scalar codecs of the example (order ids, e-mail addresses, positive integers…) and the
 * wording of decode errors. The refinements keep plain `string` and `number` types rather than
 * brands, so a test or a demo can write an order as an object literal.
 */

function refine<Value>(
  base: t.Type<Value, Value, unknown>,
  name: string,
  expected: string,
  accepts: (value: Value) => boolean,
): t.Type<Value, Value, unknown> {
  return new t.Type<Value, Value, unknown>(
    name,
    (u): u is Value => base.is(u) && accepts(u),
    (u, context) => {
      const decoded = base.validate(u, context);
      if (decoded._tag === 'Left') return decoded;
      return accepts(decoded.right) ? t.success(decoded.right) : t.failure(u, context, expected);
    },
    t.identity,
  );
}

/** A string with at least one character that is not white space. */
export const NonEmptyString = refine(
  t.string,
  'NonEmptyString',
  'a non-empty string',
  (s) => s.trim().length > 0,
);

/** An e-mail address: something, an @, a domain with a dot. Deliverability is not checked. */
export const Email = refine(t.string, 'Email', 'an e-mail address', (s) =>
  /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
);

/** A stock-keeping unit: capitals, digits and dashes, such as `LAMP-BRASS`. */
export const Sku = refine(t.string, 'Sku', 'a SKU of capitals, digits and dashes', (s) =>
  /^[A-Z0-9]+(-[A-Z0-9]+)*$/.test(s),
);

/** A payment provider's card token, such as `tok_visa_1f2e3d4c`. */
export const CardToken = refine(t.string, 'CardToken', 'a card token tok_…', (s) =>
  /^tok_\w+$/.test(s),
);

/** An ISO 3166-1 alpha-2 country code in capitals, such as `FR`. */
export const CountryCode = refine(t.string, 'CountryCode', 'a two-letter country code', (s) =>
  /^[A-Z]{2}$/.test(s),
);

/** An integer greater than zero. */
export const PositiveInteger = refine(
  t.number,
  'PositiveInteger',
  'a positive integer',
  (n) => Number.isSafeInteger(n) && n > 0,
);

/** An integer zero or greater. */
export const NonNegativeInteger = refine(
  t.number,
  'NonNegativeInteger',
  'an integer zero or greater',
  (n) => Number.isSafeInteger(n) && n >= 0,
);

/**
 * A decimal integer written as text (a CSV field), checked by `integer` once read: `"12"` → 12.
 * Signs, spaces, decimals and exponents are refused.
 */
export function integerFromString(
  integer: t.Type<number, number, unknown>,
): t.Type<number, string, unknown> {
  return new t.Type<number, string, unknown>(
    `${integer.name}FromString`,
    integer.is,
    (u, context) => {
      if (typeof u !== 'string' || !/^\d+$/.test(u)) {
        return t.failure(u, context, `${describeCodec(integer)} in decimal digits`);
      }
      return integer.validate(Number(u), context);
    },
    String,
  );
}

function describeCodec(codec: t.Decoder<unknown, unknown>): string {
  switch (codec.name) {
    case 'PositiveInteger':
      return 'a positive integer';
    case 'NonNegativeInteger':
      return 'an integer zero or greater';
    default:
      return codec.name;
  }
}

/** One decode error: the dotted path to the field (empty for the whole value) and what is wrong. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

/** Turns io-ts errors into one problem per field, in the order io-ts found them. */
export function describeDecodeErrors(errors: t.Errors): readonly FieldProblem[] {
  return errors.map((error) => {
    const path = error.context
      .map((entry) => entry.key)
      .filter((key) => key !== '' && !/^\d+$/.test(key))
      .join('.');
    const last = error.context[error.context.length - 1];
    const expected = error.message ?? (last ? describeCodec(last.type) : 'a valid value');
    const got = error.value === undefined ? 'nothing' : JSON.stringify(error.value);
    return { path, message: `expected ${expected}, got ${got}` };
  });
}

/**
 * Decodes `value` or throws an error naming `what` and each wrong field. For values the shop wrote
 * itself (rows read back): a failure there is a broken invariant, not an expected outcome.
 */
export function decodeOrThrow<Value>(
  codec: t.Decoder<unknown, Value>,
  value: unknown,
  what: string,
): Value {
  const decoded = codec.decode(value);
  if (decoded._tag === 'Right') return decoded.right;
  const fields = describeDecodeErrors(decoded.left).map(
    (problem) => `${problem.path || '(value)'}: ${problem.message}`,
  );
  throw new Error(`${what} does not decode: ${fields.join('; ')}`);
}
