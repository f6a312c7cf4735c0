/** One difference between two JSON values, at a path such as `steps.charge.status`. */
export type ValueChange =
  | { readonly kind: 'added'; readonly path: string; readonly after: unknown }
  | { readonly kind: 'removed'; readonly path: string; readonly before: unknown }
  | {
      readonly kind: 'changed';
      readonly path: string;
      readonly before: unknown;
      readonly after: unknown;
    };

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function diffAt(before: unknown, after: unknown, path: string, changes: ValueChange[]): void {
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of [...keys].sort()) {
      const inBefore = Object.hasOwn(before, key);
      const inAfter = Object.hasOwn(after, key);
      const at = join(path, key);
      if (!inBefore) changes.push({ kind: 'added', path: at, after: after[key] });
      else if (!inAfter) changes.push({ kind: 'removed', path: at, before: before[key] });
      else diffAt(before[key], after[key], at, changes);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i++) {
      const at = join(path, i);
      if (i >= before.length) changes.push({ kind: 'added', path: at, after: after[i] });
      else if (i >= after.length) changes.push({ kind: 'removed', path: at, before: before[i] });
      else diffAt(before[i], after[i], at, changes);
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) {
    changes.push({ kind: 'changed', path: path === '' ? '.' : path, before, after });
  }
}

/**
 * What changed from one JSON value to another, leaf by leaf, keys in sorted order. Pure.
 *
 * @example
 * diffValues({ status: 'running' }, { status: 'completed' });
 * // [{ kind: 'changed', path: 'status', before: 'running', after: 'completed' }]
 */
export function diffValues(before: unknown, after: unknown): ValueChange[] {
  const changes: ValueChange[] = [];
  diffAt(before, after, '', changes);
  return changes;
}

/** A change as one line: `~ steps.charge.status: "running" -> "completed"`. */
export function formatValueChange(change: ValueChange): string {
  switch (change.kind) {
    case 'added':
      return `+ ${change.path}: ${JSON.stringify(change.after)}`;
    case 'removed':
      return `- ${change.path}: ${JSON.stringify(change.before)}`;
    case 'changed': {
      const before = JSON.stringify(change.before);
      return `~ ${change.path}: ${before} -> ${JSON.stringify(change.after)}`;
    }
  }
}
