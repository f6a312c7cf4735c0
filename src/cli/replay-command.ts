import { readFile } from 'node:fs/promises';

import * as E from 'fp-ts/lib/Either.js';

import type { RecordedEvent } from '../core/events.js';
import { replay } from '../core/evolve.js';
import {
  decodeNdjson,
  describeNdjsonLineFailure,
  groupByStream,
  toRecordedEvent,
} from '../inspect/ndjson.js';
import { encodeSagaState } from '../inspect/saga-state-codec.js';
import { decodeArgument, NonEmptyArgument, RevisionArgument } from './cli-arguments.js';
import { refuseRevisionPastEnd } from './revision-range.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { buildTimeline, formatTimeline } from './timeline.js';

/** Refuses `at` when it is past the end of a stream of the file (or the file has none). */
function checkAt(
  file: string,
  streams: readonly { readonly streamName: string; readonly events: readonly RecordedEvent[] }[],
  at: bigint,
): CommandResult {
  const name = { command: 'replay', argument: '--at' };
  if (streams.length === 0) return refuseRevisionPastEnd(name, at, file, 0);
  for (const { streamName, events } of streams) {
    const last = events.at(-1)?.revision ?? -1n;
    if (at > last)
      return refuseRevisionPastEnd(name, at, `${streamName} in ${file}`, events.length);
  }
  return succeed;
}

/**
 * `rewind replay --file <f> [--at <n>] [--json]`: folds the sagas of an NDJSON export offline,
 * with no database, and prints each one's timeline and state (after event `n`, default the last).
 */
export async function runReplayCommand(
  io: CommandIo,
  options: { readonly file?: string; readonly at?: string; readonly json: boolean },
): Promise<CommandResult> {
  const file = decodeArgument(NonEmptyArgument, 'replay: --file', options.file);
  if (E.isLeft(file)) return refuse(file.left, 2);
  const at =
    options.at === undefined
      ? E.right(undefined)
      : decodeArgument(RevisionArgument, 'replay: --at', options.at);
  if (E.isLeft(at)) return refuse(at.left, 2);
  const text = await readFile(file.right, 'utf8').catch(() => undefined);
  if (text === undefined) return refuse(`replay: cannot read ${file.right}`, 2);
  const decoded = decodeNdjson(text, file.right);
  if (E.isLeft(decoded)) return refuse(`replay: ${describeNdjsonLineFailure(decoded.left)}`);

  const streams = [...groupByStream(decoded.right)].map(([streamName, entries]) => ({
    streamName,
    events: entries.map(({ event }) => toRecordedEvent(event)),
  }));
  // Checked for every stream before any is printed, so a refusal prints nothing.
  const inRange = at.right === undefined ? succeed : checkAt(file.right, streams, at.right);
  if (E.isLeft(inRange)) return inRange;

  for (const { streamName, events } of streams) {
    const upTo =
      at.right === undefined
        ? events
        : events.filter((event) => event.revision <= (at.right ?? 0n));
    const state = replay(upTo);
    if (E.isLeft(state)) {
      const { revision, eventType, detail } = state.left;
      return refuse(
        `replay: ${streamName} event ${revision} (${eventType}) does not fit: ${detail}`,
      );
    }
    if (options.json) {
      io.out(
        JSON.stringify({
          stream: streamName,
          events: upTo.length,
          state: encodeSagaState(state.right),
        }),
      );
      continue;
    }
    io.out(`${streamName}: ${upTo.length} event(s), ${state.right.status}`);
    io.out(formatTimeline(buildTimeline(upTo)));
    io.out(JSON.stringify(encodeSagaState(state.right), null, 2));
  }
  return succeed;
}
