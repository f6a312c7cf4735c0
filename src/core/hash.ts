/**
 * FNV-1a, 64 bits, over a string's UTF-16 code units, as 16 hex digits. It fingerprints a
 * saga definition's shape so a worker can tell that recorded history was made by other code;
 * it is not meant to resist tampering.
 */
export function hashString(text: string): string {
  const prime = 0x100000001b3n;
  const mask = (1n << 64n) - 1n;
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}
