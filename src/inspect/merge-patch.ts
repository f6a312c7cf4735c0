/**
 * Applies a JSON merge patch (RFC 7386) to a JSON value: objects merge key by key, `null`
 * removes a key, anything else replaces. Pure.
 *
 * @example
 * applyMergePatch({ sku: 'MUG', quantity: 2 }, { quantity: 5 }); // { sku: 'MUG', quantity: 5 }
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = applyMergePatch(base[key], value);
  }
  return base;
}
