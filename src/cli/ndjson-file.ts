import { readFile } from 'node:fs/promises';

import * as E from 'fp-ts/lib/Either.js';

import type { StreamName } from '../core/ids.js';
import {
  decodeNdjson,
  describeNdjsonLineFailure,
  type ExportedEvent,
  groupByStream,
} from '../inspect/ndjson.js';

/** The events of one stream of a file, in file order, each with its line (from 1). */
export type FileEntries = readonly { readonly line: number; readonly event: ExportedEvent }[];

/** The streams of an NDJSON export file, in the order they first appear. */
export type FileStreams = ReadonlyMap<StreamName, FileEntries>;

/** Refuses an event id that an earlier line of the file holds already. */
function checkEventIds(file: string, entries: FileEntries): E.Either<string, void> {
  const lineOf = new Map<string, number>();
  for (const { line, event } of entries) {
    const earlier = lineOf.get(event.eventId);
    if (earlier !== undefined) {
      return E.left(`${file}:${line}: eventId: ${event.eventId} is on line ${earlier} too`);
    }
    lineOf.set(event.eventId, line);
  }
  return E.right(undefined);
}

/** Refuses a stream whose revisions do not run from 0 without gaps, or that does not start. */
function checkRevisions(
  file: string,
  streamName: StreamName,
  entries: FileEntries,
): E.Either<string, void> {
  for (const [index, { line, event }] of entries.entries()) {
    if (event.revision !== BigInt(index)) {
      return E.left(
        `${file}:${line}: revision: expected ${index} in ${streamName}, got ${event.revision}`,
      );
    }
    if (index === 0 && event.event.type !== 'SagaStarted') {
      return E.left(`${file}:${line}: event.type: a stream must start with SagaStarted`);
    }
  }
  return E.right(undefined);
}

/**
 * Reads an NDJSON export (`rewind import`, `rewind replay --file`): every line decoded with
 * io-ts, no event id twice, each stream's revisions from 0 in order, starting with SagaStarted.
 * Left with a sentence for the first problem, `file:line: field: message`, which the commands
 * refuse as bad input. A file of no events gives no streams; what that means is the caller's.
 */
export async function readNdjsonFile(file: string): Promise<E.Either<string, FileStreams>> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return E.left(`cannot read ${file}`);
  const decoded = decodeNdjson(text, file);
  if (E.isLeft(decoded)) return E.left(describeNdjsonLineFailure(decoded.left));
  const ids = checkEventIds(file, decoded.right);
  if (E.isLeft(ids)) return ids;

  const streams = groupByStream(decoded.right);
  for (const [streamName, entries] of streams) {
    const revisions = checkRevisions(file, streamName, entries);
    if (E.isLeft(revisions)) return revisions;
  }
  return E.right(streams);
}

/** The line of a stream's event at `revision`: where a problem found later is reported. */
export function lineOfRevision(entries: FileEntries, revision: bigint): number {
  return entries[Number(revision)]?.line ?? 0;
}
