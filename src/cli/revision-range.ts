import { describeTimeTravelFailure, type TimeTravelFailure } from '../inspect/state-at.js';
import { type CommandResult, refuse } from './run-command.js';

/** Where an event number was given: the command and its argument, such as `state` `--at`. */
export interface RevisionArgumentName {
  readonly command: string;
  readonly argument: string;
}

/**
 * The refusal of an event number past the end of a history: bad input (exit 2) that names the
 * argument, the number and how many events the history has, such as `state: --at 99: past the
 * end of saga 42, which has 11 events (0 to 10)`.
 */
export function refuseRevisionPastEnd(
  { command, argument }: RevisionArgumentName,
  revision: bigint,
  history: string,
  eventCount: bigint | number,
): CommandResult {
  const count = BigInt(eventCount);
  const events =
    count === 0n ? 'no events' : `${count} event${count === 1n ? '' : 's'} (0 to ${count - 1n})`;
  return refuse(
    `${command}: ${argument} ${revision}: past the end of ${history}, which has ${events}`,
    2,
  );
}

/**
 * The refusal of a state that could not be rebuilt: an event number past the end is bad input
 * (exit 2, see {@link refuseRevisionPastEnd}); anything else is a failure the command found.
 */
export function refuseTimeTravel(
  name: RevisionArgumentName,
  failure: TimeTravelFailure,
): CommandResult {
  if (failure._tag !== 'RevisionOutOfRangeFailure') {
    return refuse(`${name.command}: ${describeTimeTravelFailure(failure)}`);
  }
  const { revision, sagaId, lastRevision } = failure;
  return refuseRevisionPastEnd(name, revision, `saga ${sagaId}`, lastRevision + 1n);
}
