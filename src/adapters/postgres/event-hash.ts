import { createHash } from 'node:crypto';

/**
 * The hash chain of a stream (migrations/005_audit_and_snapshots.sql): each event's hash covers
 * the previous event's hash and the event's own content, so editing, removing or reordering an
 * event breaks the chain from that event on.
 */

/** What an event's hash covers: everything the store keeps except where and when it wrote it. */
export interface HashedEventFields {
  readonly streamName: string;
  readonly revision: bigint;
  readonly eventId: string;
  readonly type: string;
  /** As stored: the encoded event data (JSON). */
  readonly data: unknown;
  /** As stored: the encoded metadata (JSON). */
  readonly metadata: unknown;
}

/** The previous hash of a stream's first event. */
export const GENESIS_HASH = '';

/**
 * JSON with object keys sorted at every level, so the same value always gives the same text
 * whatever order its keys were written or read back in (jsonb reorders them).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`);
  return `{${entries.join(',')}}`;
}

/** sha256 (hex) of the previous hash followed by the canonical JSON of the event's fields. */
export function hashEvent(prevHash: string, fields: HashedEventFields): string {
  const content = canonicalJson({
    streamName: fields.streamName,
    revision: fields.revision.toString(),
    eventId: fields.eventId,
    type: fields.type,
    data: fields.data,
    metadata: fields.metadata,
  });
  return createHash('sha256').update(prevHash).update(content).digest('hex');
}
