import * as E from 'fp-ts/lib/Either.js';

import { cancellationFailure, undoFailure } from '../../src/core/engine-failures.js';
import type { RecordedEvent, RecordedFailure, SagaEvent } from '../../src/core/events.js';
import { evolve, replay } from '../../src/core/evolve.js';
import { sagaStreamName } from '../../src/core/ids.js';
import { initialSagaState, type SagaState } from '../../src/core/state.js';
import type { EventStore } from '../../src/ports/event-store.js';
import { CRASH_OPERATOR, type CrashCommand, type CrashCommandName } from './crash-operator.js';

/**
 * What the checker of a crash run expects of the operator's commands, from the histories: a
 * cancel folded in while the saga ran and an undo folded in once it had completed each roll
 * the saga back, for that reason; a recorded command has its one event, from the operator, at
 * the revision it returned; a refused one has none, and was refused for a state the saga had.
 */

/** A saga's history and the state after each of its events (`states[i]` folds events 0..i). */
export interface CommandHistory {
  readonly events: readonly RecordedEvent[];
  readonly states: readonly SagaState[];
}

/** What a history says of the cancels and undos sent to the saga, by the operator or its parent. */
export interface CommandFacts {
  /** A cancel was folded in while the saga ran: it must end rolled back. */
  readonly cancelledWhileRunning: boolean;
  /** The first such cancel's reason, when no step had failed for good before it. */
  readonly cancelFirst: string | undefined;
  /** The reason of an undo folded in once the saga had completed: it must end rolled back. */
  readonly undoneAfterCompletion: string | undefined;
}

/** The states a history folds through, one after each event. */
export function foldStates(events: readonly RecordedEvent[]): SagaState[] {
  const states: SagaState[] = [];
  let state = initialSagaState;
  for (const recorded of events) {
    state = evolve(state, recorded);
    states.push(state);
  }
  return states;
}

function commandOf(event: SagaEvent): { name: CrashCommandName; reason: string } | undefined {
  switch (event.type) {
    case 'SagaCancelRequested':
      return { name: 'cancel', reason: event.data.reason };
    case 'SagaUndoRequested':
      return { name: 'undo', reason: event.data.reason };
    default:
      return undefined;
  }
}

/** Reads the cancels and undos out of a history, with the state each was folded into. */
export function readCommandFacts(history: CommandHistory): CommandFacts {
  let cancelledWhileRunning = false;
  let cancelFirst: string | undefined;
  let undoneAfterCompletion: string | undefined;
  history.events.forEach((recorded, i) => {
    const command = commandOf(recorded.event);
    const before = i === 0 ? initialSagaState : history.states[i - 1];
    if (!command || before === undefined || before.status === 'initial') return;
    if (command.name === 'cancel' && before.status === 'running') {
      if (!cancelledWhileRunning && before.firstFailure === undefined) {
        cancelFirst = command.reason;
      }
      cancelledWhileRunning = true;
    }
    if (command.name === 'undo' && before.status === 'completed') {
      undoneAfterCompletion ??= command.reason;
    }
  });
  return { cancelledWhileRunning, cancelFirst, undoneAfterCompletion };
}

function describeFailure(failure: RecordedFailure): string {
  return `${failure.name} (${failure.message})`;
}

/**
 * A saga rolled back by a command rolled back for it: an undo once completed, or a cancel that
 * came before any step failed for good.
 */
export function checkRollbackReason(state: SagaState, facts: CommandFacts): string[] {
  if (state.status !== 'compensated') return [];
  const expected =
    facts.undoneAfterCompletion !== undefined
      ? undoFailure(facts.undoneAfterCompletion)
      : facts.cancelFirst !== undefined
        ? cancellationFailure(facts.cancelFirst)
        : undefined;
  if (!expected) return [];
  const { step, failure } = state.reason;
  if (step === null && failure.name === expected.name && failure.message === expected.message) {
    return [];
  }
  return [
    `rolled back for ${describeFailure(failure)} at ${step ?? 'no step'}, ` +
      `expected ${describeFailure(expected)}`,
  ];
}

/** Whether a refusal that names `status` fits a state the saga had. */
function refusalFits(command: CrashCommandName, status: string, state: SagaState): boolean {
  if (state.status === 'initial' || state.status !== status) return false;
  if (command === 'cancel') return status !== 'running' || state.cancelRequested !== undefined;
  return status !== 'completed' || state.undoRequested !== undefined;
}

/** Checks one command against its saga's history (none when the saga never started). */
function checkCommand(command: CrashCommand, history: CommandHistory | undefined): string[] {
  const label = `${command.command} of saga ${command.sagaId} ${command.trigger}`;
  const own = (history?.events ?? []).filter((recorded) => {
    const found = commandOf(recorded.event);
    return found?.name === command.command && found.reason === command.reason;
  });
  const { outcome } = command;
  switch (outcome._tag) {
    case 'Recorded': {
      const [event, ...more] = own;
      if (!event || more.length > 0) {
        return [`${label}: recorded, yet ${own.length} events of it in the history`];
      }
      const problems: string[] = [];
      if (event.revision !== outcome.revision) {
        problems.push(`${label}: recorded as ${outcome.revision}, its event is ${event.revision}`);
      }
      if (event.metadata.actor.id !== CRASH_OPERATOR.id) {
        problems.push(`${label}: its event's actor is ${event.metadata.actor.id}`);
      }
      return problems;
    }
    case 'Refused': {
      const [event] = own;
      if (event) return [`${label}: refused, yet its event is at revision ${event.revision}`];
      const { status } = outcome;
      if (status === undefined) return [];
      const fits = history?.states.some((state) => refusalFits(command.command, status, state));
      return fits ? [] : [`${label}: refused as ${status}, a state its history never had`];
    }
    case 'Threw':
      return [`${label}: threw instead of returning: ${outcome.detail}`];
  }
}

/**
 * Checks every command against its saga's history, read as stored: a history that does not fit
 * its definition (reported by the saga checks) still shows which commands it holds.
 */
export async function checkCommands(
  store: EventStore,
  commands: readonly CrashCommand[],
): Promise<string[]> {
  const histories = new Map<string, CommandHistory | undefined>();
  const problems: string[] = [];
  for (const command of commands) {
    if (!histories.has(command.sagaId)) {
      const read = await store.readStream(sagaStreamName(command.sagaId));
      const events = E.isRight(read) ? read.right : [];
      // A history that does not fold has no states to justify a refusal with.
      const states = E.isRight(replay(events)) ? foldStates(events) : [];
      histories.set(command.sagaId, events.length > 0 ? { events, states } : undefined);
    }
    problems.push(...checkCommand(command, histories.get(command.sagaId)));
  }
  return problems;
}
