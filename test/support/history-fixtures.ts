import { readFileSync, writeFileSync } from 'node:fs';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { describeDecodeErrors } from '../../src/core/decode-failure.js';
import {
  BigIntFromStored,
  EventMetadata,
  type RecordedEvent,
  SagaEvent,
} from '../../src/core/events.js';
import { EventId, StreamName } from '../../src/core/ids.js';
import type { SagaState } from '../../src/core/state.js';

/**
 * Golden history fixtures: one NDJSON file per recorded saga, one line per event, each line the
 * event encoded with `SagaEvent.encode` and its metadata with `EventMetadata.encode`, plus its
 * stream, revision, position and id. Beside each, `<name>.expected.json` keeps what the history
 * folds to. Both are read back with io-ts, as any stored event is.
 */

/** One line of a history fixture. */
export const HistoryFixtureLine = t.type(
  {
    streamName: StreamName,
    revision: BigIntFromStored,
    position: BigIntFromStored,
    eventId: EventId,
    recordedAt: t.string,
    event: SagaEvent,
    metadata: EventMetadata,
  },
  'HistoryFixtureLine',
);

/** What a fixture's history folds to, kept beside it. */
export const ExpectedFinalState = t.type(
  {
    saga: t.string,
    status: t.string,
    revision: t.string,
    completionOrder: t.readonlyArray(t.string),
    steps: t.record(t.string, t.string),
  },
  'ExpectedFinalState',
);
export type ExpectedFinalState = t.TypeOf<typeof ExpectedFinalState>;

/** The NDJSON of a recorded history. */
export function encodeHistoryFixture(events: readonly RecordedEvent[]): string {
  return events
    .map((recorded) =>
      JSON.stringify(
        HistoryFixtureLine.encode({ ...recorded, recordedAt: recorded.recordedAt.toISOString() }),
      ),
    )
    .join('\n')
    .concat('\n');
}

/** Reads a history fixture back; throws naming the line and field that does not decode. */
export function readHistoryFixture(path: string): RecordedEvent[] {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  return lines.map((line, index) => {
    const decoded = HistoryFixtureLine.decode(JSON.parse(line));
    if (E.isLeft(decoded)) {
      const { path: field, message } = describeDecodeErrors(decoded.left);
      throw new Error(`${path}:${index + 1}: ${field}: ${message}`);
    }
    return { ...decoded.right, recordedAt: new Date(decoded.right.recordedAt) };
  });
}

/** The summary of a final state that a fixture keeps. */
export function summarizeState(state: SagaState): ExpectedFinalState {
  if (state.status === 'initial') {
    return { saga: '', status: 'initial', revision: '-1', completionOrder: [], steps: {} };
  }
  const steps: Record<string, string> = {};
  for (const [name, step] of Object.entries(state.steps)) steps[name] = step.status;
  return {
    saga: state.saga,
    status: state.status,
    revision: state.revision.toString(),
    completionOrder: state.completionOrder,
    steps,
  };
}

/** Writes the expected final state of a fixture. */
export function writeExpectedState(path: string, state: SagaState): void {
  writeFileSync(path, `${JSON.stringify(summarizeState(state), null, 2)}\n`);
}

/** Reads the expected final state of a fixture. */
export function readExpectedState(path: string): ExpectedFinalState {
  const decoded = ExpectedFinalState.decode(JSON.parse(readFileSync(path, 'utf8')));
  if (E.isLeft(decoded)) {
    const { path: field, message } = describeDecodeErrors(decoded.left);
    throw new Error(`${path}: ${field}: ${message}`);
  }
  return decoded.right;
}
