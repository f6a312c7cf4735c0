import * as E from 'fp-ts/lib/Either.js';

import type { RecordedEvent } from '../core/events.js';
import { replay } from '../core/evolve.js';
import type { SagaState } from '../core/state.js';
import { toRecordedEvent } from '../inspect/ndjson.js';
import { encodeSagaState } from '../inspect/saga-state-codec.js';
import {
  decodeArgument,
  decodeOptionalArgument,
  NonEmptyArgument,
  RevisionArgument,
} from './cli-arguments.js';
import { type FileStreams, lineOfRevision, readNdjsonFile } from './ndjson-file.js';
import { refuseRevisionPastEnd } from './revision-range.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { buildTimeline, formatTimeline } from './timeline.js';

/** One stream of the file, folded up to the event asked for. */
interface ReplayedStream {
  readonly streamName: string;
  readonly events: readonly RecordedEvent[];
  readonly state: SagaState;
}

/**
 * Folds every stream of the file up to `at` (default: its last event). Left with a refusal for
 * an `at` past the end of a stream, or an event the history before it does not allow, naming
 * its line: a file that does not replay is bad input.
 */
function replayStreams(
  file: string,
  streams: FileStreams,
  at: bigint | undefined,
): E.Either<CommandResult, ReplayedStream[]> {
  const replayed: ReplayedStream[] = [];
  for (const [streamName, entries] of streams) {
    const recorded = entries.map(({ event }) => toRecordedEvent(event));
    if (at !== undefined && at >= recorded.length) {
      const name = { command: 'replay', argument: '--at' };
      return E.left(refuseRevisionPastEnd(name, at, `${streamName} in ${file}`, recorded.length));
    }
    const events = at === undefined ? recorded : recorded.slice(0, Number(at) + 1);
    const state = replay(events);
    if (E.isLeft(state)) {
      const { revision, eventType, detail } = state.left;
      const where = `${file}:${lineOfRevision(entries, revision)}`;
      const what = `${streamName} event ${revision} (${eventType}) does not fit: ${detail}`;
      return E.left(refuse(`replay: ${where}: ${what}`, 2));
    }
    replayed.push({ streamName, events, state: state.right });
  }
  return E.right(replayed);
}

function printStream(io: CommandIo, { streamName, events, state }: ReplayedStream, json: boolean) {
  if (json) {
    io.out(
      JSON.stringify({ stream: streamName, events: events.length, state: encodeSagaState(state) }),
    );
    return;
  }
  io.out(`${streamName}: ${events.length} event(s), ${state.status}`);
  io.out(formatTimeline(buildTimeline(events)));
  io.out(JSON.stringify(encodeSagaState(state), null, 2));
}

/**
 * `rewind replay --file <f> [--at <n>] [--json]`: folds the sagas of an NDJSON export offline,
 * with no database, and prints each one's timeline and state (after event `n`, default the last).
 * A file that is not a valid export, or holds no events, is refused with exit code 2, naming the
 * line; every stream is folded before any is printed, so a refusal prints nothing.
 */
export async function runReplayCommand(
  io: CommandIo,
  options: { readonly file?: string; readonly at?: string; readonly json: boolean },
): Promise<CommandResult> {
  const file = decodeArgument(NonEmptyArgument, 'replay: --file', options.file);
  if (E.isLeft(file)) return refuse(file.left, 2);
  const at = decodeOptionalArgument(RevisionArgument, 'replay: --at', options.at);
  if (E.isLeft(at)) return refuse(at.left, 2);

  const streams = await readNdjsonFile(file.right);
  if (E.isLeft(streams)) return refuse(`replay: ${streams.left}`, 2);
  if (streams.right.size === 0) return refuse(`replay: ${file.right} holds no events`, 2);
  const replayed = replayStreams(file.right, streams.right, at.right);
  if (E.isLeft(replayed)) return replayed.left;

  for (const stream of replayed.right) printStream(io, stream, options.json);
  return succeed;
}
