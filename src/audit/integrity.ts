import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { GENESIS_HASH, hashEvent } from '../adapters/postgres/event-hash.js';
import { SELECT_STREAM_CHAIN, SELECT_STREAM_NAMES } from '../adapters/postgres/sql/events.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import { BigIntFromStored } from '../core/events.js';
import type { StreamName } from '../core/ids.js';
import type { SqlExecutor } from '../ports/sql.js';

/**
 * Tamper evidence: recomputes each stream's hash chain (see src/adapters/postgres/event-hash.ts)
 * and names the events that do not fit it.
 *
 * The chain shows an event that was edited, removed from the middle of its stream, or moved to
 * another revision. It cannot show that the last events of a stream were removed, nor a stream
 * rewritten whole with freshly computed hashes: whoever can write the table can recompute the
 * chain. Anchor the latest hashes elsewhere (`rewind verify --integrity --json` prints them) to
 * detect those.
 */

/** One event of a stream as stored, with the columns the chain covers. */
export const ChainRow = t.type(
  {
    stream_name: t.string,
    revision: BigIntFromStored,
    event_id: t.string,
    type: t.string,
    data: t.unknown,
    metadata: t.unknown,
    prev_hash: t.union([t.null, t.string]),
    hash: t.union([t.null, t.string]),
  },
  'ChainRow',
);
export type ChainRow = t.TypeOf<typeof ChainRow>;

/** What is wrong with one event of a stream. */
export type IntegrityFinding =
  /** Its content does not give its hash: edited in place, or moved from another revision. */
  | { readonly _tag: 'EventEditedFinding'; readonly revision: bigint; readonly eventId: string }
  /** Revisions jump from `revision - 1` (or the start) to a later one: events were removed. */
  | { readonly _tag: 'EventMissingFinding'; readonly revision: bigint; readonly foundNext: bigint }
  /** Chained to a hash that is not the previous event's: one before it was removed or moved. */
  | { readonly _tag: 'ChainBrokenFinding'; readonly revision: bigint; readonly eventId: string }
  /** Written before hashes were kept (migration 005): not covered by the chain. */
  | { readonly _tag: 'UnchainedEventFinding'; readonly revision: bigint; readonly eventId: string }
  /** A row that does not decode at all. */
  | { readonly _tag: 'RowDecodeFinding'; readonly revision: bigint; readonly detail: string };

/** The verdict on one stream. */
export interface StreamIntegrity {
  readonly streamName: string;
  readonly events: number;
  /** The hash of the last event: anchor it elsewhere to detect removals at the end. */
  readonly headHash: string | null;
  readonly findings: readonly IntegrityFinding[];
}

/** Whether a finding means tampering (unchained legacy events do not). */
export function isTamperFinding(finding: IntegrityFinding): boolean {
  return finding._tag !== 'UnchainedEventFinding';
}

/** Checks one stream's rows, in revision order, against their hash chain. Pure. */
export function verifyChain(streamName: string, rows: readonly ChainRow[]): StreamIntegrity {
  const findings: IntegrityFinding[] = [];
  let expectedRevision = 0n;
  let previousHash: string | null = null;
  for (const row of rows) {
    const { revision, event_id: eventId } = row;
    const gap = revision !== expectedRevision;
    if (gap)
      findings.push({
        _tag: 'EventMissingFinding',
        revision: expectedRevision,
        foundNext: revision,
      });
    expectedRevision = revision + 1n;

    if (row.hash === null || row.prev_hash === null) {
      findings.push({ _tag: 'UnchainedEventFinding', revision, eventId });
      previousHash = null;
      continue;
    }
    const fields = { streamName: row.stream_name, revision, eventId, type: row.type };
    const computed = hashEvent(row.prev_hash, {
      ...fields,
      data: row.data,
      metadata: row.metadata,
    });
    const edited = computed !== row.hash;
    if (edited) findings.push({ _tag: 'EventEditedFinding', revision, eventId });
    // The first chained event after unchained ones starts a new chain from the genesis hash. An
    // edited or moved event is named once, not again for its link.
    const expectedPrev = previousHash ?? GENESIS_HASH;
    if (!gap && !edited && row.prev_hash !== expectedPrev) {
      findings.push({ _tag: 'ChainBrokenFinding', revision, eventId });
    }
    previousHash = row.hash;
  }
  const headHash = rows.at(-1)?.hash ?? null;
  return { streamName, events: rows.length, headHash, findings };
}

/** One stream's rows as stored, and the ones that do not decode at all. */
export async function readChainRows(
  db: SqlExecutor,
  streamName: StreamName,
): Promise<{ rows: ChainRow[]; undecodable: IntegrityFinding[] }> {
  const result = await db.query(SELECT_STREAM_CHAIN, [streamName]);
  const rows: ChainRow[] = [];
  const undecodable: IntegrityFinding[] = [];
  result.rows.forEach((raw, index) => {
    const decoded = ChainRow.decode(raw);
    if (E.isRight(decoded)) rows.push(decoded.right);
    else {
      const { path, message } = describeDecodeErrors(decoded.left);
      const detail = `${path}: ${message}`;
      undecodable.push({ _tag: 'RowDecodeFinding', revision: BigInt(index), detail });
    }
  });
  return { rows, undecodable };
}

/** Reads one stream's chain and verifies it. */
export async function checkStreamIntegrity(
  db: SqlExecutor,
  streamName: StreamName,
): Promise<StreamIntegrity> {
  const { rows, undecodable } = await readChainRows(db, streamName);
  const verdict = verifyChain(streamName, rows);
  return { ...verdict, findings: [...undecodable, ...verdict.findings] };
}

const StreamNameRow = t.type({ stream_name: t.string });

/** The names of every stream with events, oldest first. */
export async function listStreamNames(db: SqlExecutor): Promise<string[]> {
  const result = await db.query(SELECT_STREAM_NAMES);
  return result.rows.flatMap((row) => {
    const decoded = StreamNameRow.decode(row);
    return E.isRight(decoded) ? [decoded.right.stream_name] : [];
  });
}

/** A sentence for a finding, naming the event. */
export function describeIntegrityFinding(streamName: string, finding: IntegrityFinding): string {
  const at = `${streamName} event ${finding.revision}`;
  switch (finding._tag) {
    case 'EventEditedFinding':
      return `${at} (${finding.eventId}): content does not match its hash: edited, or moved here`;
    case 'EventMissingFinding':
      return `${at}: missing (the next stored event is ${finding.foundNext}): events were removed`;
    case 'ChainBrokenFinding':
      return (
        `${at} (${finding.eventId}): chained to a different previous event: ` +
        'one was removed or reordered'
      );
    case 'UnchainedEventFinding':
      return `${at} (${finding.eventId}): written before hashes were kept, not covered`;
    case 'RowDecodeFinding':
      return `${at}: row does not decode: ${finding.detail}`;
  }
}
