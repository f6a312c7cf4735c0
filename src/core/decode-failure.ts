import type * as t from 'io-ts';

/**
 * Turning io-ts errors into one readable "where and why": a path such as `data.failure.message`
 * and a message such as `expected string, got 42`. Used wherever stored or received data is
 * decoded, so that every decode failure names the field it stopped at.
 */

/** Where a decode failed, relative to the decoded value ('' for the value itself), and why. */
export interface DecodeErrorDescription {
  readonly path: string;
  readonly message: string;
}

const WRAPPER_TAGS: ReadonlySet<unknown> = new Set(['ReadonlyType', 'RefinementType', 'ExactType']);

type Decoder = t.ContextEntry['type'];

function isDecoder(value: unknown): value is Decoder {
  return typeof value === 'object' && value !== null && 'validate' in value && 'name' in value;
}

function tagOf(decoder: Decoder): unknown {
  return '_tag' in decoder ? decoder._tag : undefined;
}

/** The codec under readonly, refinement and exact wrappers, which add no context entry. */
function unwrap(decoder: Decoder): Decoder {
  let current = decoder;
  while (WRAPPER_TAGS.has(tagOf(current)) && 'type' in current && isDecoder(current.type)) {
    current = current.type;
  }
  return current;
}

function isUnion(decoder: Decoder): boolean {
  return tagOf(unwrap(decoder)) === 'UnionType';
}

/** Union and intersection members appear in the context under their index, not a field name. */
function isCombinator(decoder: Decoder): boolean {
  const tag = tagOf(unwrap(decoder));
  return tag === 'UnionType' || tag === 'IntersectionType';
}

function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
    case 'function':
    case 'symbol':
      return `a ${typeof value}`;
  }
}

function renderPath(context: t.Context): string {
  let path = '';
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1];
    const entry = context[i];
    if (!parent || !entry || entry.key === '' || isCombinator(parent.type)) continue;
    if (Array.isArray(parent.actual)) path += `[${entry.key}]`;
    else path += path === '' ? entry.key : `.${entry.key}`;
  }
  return path;
}

function groupByKeyAt(errors: readonly t.ValidationError[], level: number) {
  const groups = new Map<string | undefined, t.ValidationError[]>();
  for (const error of errors) {
    const key = error.context[level]?.key;
    const group = groups.get(key);
    if (group) group.push(error);
    else groups.set(key, [error]);
  }
  return [...groups.values()];
}

function shallowestDepth(errors: readonly t.ValidationError[]): number {
  return Math.min(...errors.map((error) => error.context.length));
}

/**
 * Picks the one error worth reporting. In a union every member reports its own errors; the
 * member that got furthest into the value before failing is the one the value was meant to be
 * (the first such member on a tie). When no member got past its own root, the union itself is
 * the failing node, reported under its own name.
 */
function pickError(errors: readonly t.ValidationError[]): t.ValidationError | undefined {
  let candidates = errors;
  for (let level = 1; ; level++) {
    const first = candidates[0];
    const parent = first?.context[level - 1];
    if (!first || !parent || first.context.length <= level) return first;
    const groups = groupByKeyAt(candidates, level);
    if (!isUnion(parent.type)) {
      candidates = groups[0] ?? [];
      continue;
    }
    const depths = groups.map(shallowestDepth);
    const deepest = Math.max(...depths);
    if (deepest === level + 1) {
      return { value: parent.actual, context: first.context.slice(0, level) };
    }
    candidates = groups[depths.indexOf(deepest)] ?? [];
  }
}

/** A tagged union that met an unknown tag fails at its root; name the tag field instead. */
function describeUnknownTag(error: t.ValidationError): DecodeErrorDescription | undefined {
  const last = error.context[error.context.length - 1];
  if (!last || error.message !== undefined) return undefined;
  const union = unwrap(last.type);
  if (tagOf(union) !== 'UnionType' || !('tag' in union) || typeof union.tag !== 'string') {
    return undefined;
  }
  const value = error.value;
  if (typeof value !== 'object' || value === null) return undefined;
  const tag = union.tag;
  const found: unknown = Reflect.get(value, tag);
  const path = renderPath(error.context);
  return {
    path: path === '' ? tag : `${path}.${tag}`,
    message: `expected a known ${tag} of ${union.name}, got ${describeValue(found)}`,
  };
}

/**
 * Describes io-ts decode errors as the path to the field that failed and a message. Of several
 * errors the first is described, except that inside a union the member that matched the value
 * best is followed (see {@link pickError}).
 *
 * @example
 * ```ts
 * const result = SagaEvent.decode({ type: 'StepStarted', data: { step: 'pay', attempt: '1' } });
 * if (E.isLeft(result)) describeDecodeErrors(result.left);
 * // { path: 'data.attempt', message: 'expected number, got "1"' }
 * ```
 */
export function describeDecodeErrors(errors: t.Errors): DecodeErrorDescription {
  const error = pickError(errors);
  if (!error) return { path: '', message: 'the value does not decode' };

  const unknownTag = describeUnknownTag(error);
  if (unknownTag) return unknownTag;

  const expected = error.context[error.context.length - 1]?.type.name ?? 'a valid value';
  return {
    path: renderPath(error.context),
    message: error.message ?? `expected ${expected}, got ${describeValue(error.value)}`,
  };
}
