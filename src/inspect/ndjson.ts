import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import type { ChainRow } from '../audit/integrity.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import { BigIntFromStored, EventMetadata, type RecordedEvent, SagaEvent } from '../core/events.js';
import { EventId, StreamName } from '../core/ids.js';

/**
 * The NDJSON form of saga events (`rewind export`, `rewind import`, `rewind replay --file`): one
 * JSON object per line, one line per event, streams one after another in revision order. The
 * hashes are the store's chain, so a file can be checked offline and imported with its chain.
 */

const IsoDate = new t.Type<Date, string, unknown>(
  'IsoDate',
  (u): u is Date => u instanceof Date,
  (u, context) => {
    const date = typeof u === 'string' ? new Date(u) : undefined;
    return date && !Number.isNaN(date.getTime())
      ? t.success(date)
      : t.failure(u, context, 'expected an ISO time');
  },
  (date) => date.toISOString(),
);

/** One exported event. */
export const ExportedEvent = t.intersection(
  [
    t.type({
      streamName: StreamName,
      revision: BigIntFromStored,
      position: BigIntFromStored,
      eventId: EventId,
      event: SagaEvent,
      metadata: EventMetadata,
      recordedAt: IsoDate,
    }),
    t.partial({ prevHash: t.union([t.string, t.null]), hash: t.union([t.string, t.null]) }),
  ],
  'ExportedEvent',
);
export type ExportedEvent = t.TypeOf<typeof ExportedEvent>;

/** A line that does not decode: where, which field, why. Nothing was imported. */
export interface NdjsonLineFailure {
  readonly _tag: 'NdjsonLineFailure';
  readonly file: string;
  /** From 1. */
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

/** One event as an NDJSON line, with its chain hashes if known. */
export function encodeExportedLine(
  recorded: RecordedEvent,
  hashes: { readonly prevHash: string | null; readonly hash: string | null },
): string {
  return JSON.stringify(ExportedEvent.encode({ ...recorded, ...hashes }));
}

/** Decodes every line of an NDJSON text (blank lines skipped); the first bad line is refused. */
export function decodeNdjson(
  text: string,
  file: string,
): E.Either<NdjsonLineFailure, { readonly line: number; readonly event: ExportedEvent }[]> {
  const decoded: { line: number; event: ExportedEvent }[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]?.trim() ?? '';
    if (raw === '') continue;
    const line = index + 1;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'not JSON';
      return E.left({
        _tag: 'NdjsonLineFailure',
        file,
        line,
        path: '',
        message: `not JSON: ${message}`,
      });
    }
    const event = ExportedEvent.decode(json);
    if (E.isLeft(event)) {
      const { path, message } = describeDecodeErrors(event.left);
      return E.left({ _tag: 'NdjsonLineFailure', file, line, path, message });
    }
    decoded.push({ line, event: event.right });
  }
  return E.right(decoded);
}

/** An exported event as the store would read it back. */
export function toRecordedEvent(exported: ExportedEvent): RecordedEvent {
  const { streamName, revision, position, eventId, event, metadata, recordedAt } = exported;
  return { streamName, revision, position, eventId, event, metadata, recordedAt };
}

/** An exported event as a row of the hash chain, to verify a file's chain offline. */
export function toChainRow(exported: ExportedEvent): ChainRow {
  const encoded = ExportedEvent.encode(exported);
  return {
    stream_name: exported.streamName,
    revision: exported.revision,
    event_id: exported.eventId,
    type: encoded.event.type,
    data: encoded.event.data,
    metadata: encoded.metadata,
    prev_hash: exported.prevHash ?? null,
    hash: exported.hash ?? null,
  };
}

/** A sentence for a bad line: `file:line: field: message`. */
export function describeNdjsonLineFailure(failure: NdjsonLineFailure): string {
  const field = failure.path === '' ? '' : `${failure.path}: `;
  return `${failure.file}:${failure.line}: ${field}${failure.message}`;
}

/** Exported events grouped by stream, each in file order. */
export function groupByStream(
  events: readonly { readonly line: number; readonly event: ExportedEvent }[],
): Map<StreamName, { line: number; event: ExportedEvent }[]> {
  const streams = new Map<StreamName, { line: number; event: ExportedEvent }[]>();
  for (const entry of events) {
    const list = streams.get(entry.event.streamName) ?? [];
    list.push(entry);
    streams.set(entry.event.streamName, list);
  }
  return streams;
}
