import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { ADMIN_ROLE } from '../../src/audit/authorization.js';
import type { Actor } from '../../src/core/events.js';
import { childSagaIdOf, SagaId } from '../../src/core/ids.js';
import type { SqlExecutor } from '../../src/ports/sql.js';
import {
  describeOperatorCommandFailure,
  type OperatorCommandDeps,
  type OperatorCommandFailure,
  requestCancel,
  requestUndo,
} from '../../src/runtime/operator-commands.js';
import {
  CHILD_CRASH_SAGA,
  CRASH_SAGA_STEPS,
  type CrashWindow,
  PARENT_CRASH_SAGA,
} from './crash-sagas.js';
import { createRandom } from './random.js';

/**
 * The operator of a crash run: it cancels some sagas while they run and undoes some once they
 * have completed, from the harness process, through the engine's operator commands (what
 * `rewind cancel|undo` calls), so the commands race with the workers and with their kills. A
 * command goes out when a worker announces a chosen window of its saga (a step about to run or
 * just done, the saga's completion just appended), or some time after the saga's start. Each
 * command's reason is unique in the run, so the checker finds its event in the history, or its
 * absence when the command was refused.
 */

/** The operator's actor: an administrator, as a person at the CLI would be. */
export const CRASH_OPERATOR: Actor = { id: 'crash-operator', roles: [ADMIN_ROLE] };

/** Share of the started sagas that get a cancel, and of those that get an undo. */
const CANCEL_SHARE = 0.2;
const UNDO_SHARE = 0.1;

export type CrashCommandName = 'cancel' | 'undo';

/** What a command returned. */
export type CrashCommandOutcome =
  | { readonly _tag: 'Recorded'; readonly revision: bigint; readonly tries: number }
  /** Refused: nothing written. `status` is the saga's status the refusal names, if any. */
  | {
      readonly _tag: 'Refused';
      /** The failure's `_tag`. */
      readonly failure: string;
      readonly status: string | undefined;
      readonly detail: string;
    }
  /** The command threw instead of returning: a broken promise of its own. */
  | { readonly _tag: 'Threw'; readonly detail: string };

/** A command the operator issued, and what it returned. */
export interface CrashCommand {
  readonly command: CrashCommandName;
  readonly sagaId: SagaId;
  /** Unique in the run, and written into the command's event. */
  readonly reason: string;
  /** When it went out: at a window, a delay after the start, or at the run's end. */
  readonly trigger: string;
  readonly outcome: CrashCommandOutcome;
}

type Trigger =
  | { readonly _tag: 'AfterStart'; readonly delayMs: number }
  | {
      readonly _tag: 'AtWindow';
      readonly window: CrashWindow;
      readonly sagaId: SagaId;
      /** The step of a step or undo window; an event type of an append window. */
      readonly step: string;
      readonly delayMs: number;
    };

interface PlannedCommand {
  readonly command: CrashCommandName;
  readonly sagaId: SagaId;
  readonly trigger: Trigger;
}

/** A saga the operator may send a command to. */
interface CommandTarget {
  readonly sagaId: SagaId;
  readonly saga: string;
}

const STEP_WINDOWS: readonly CrashWindow[] = ['step:before', 'step:effect'];

function pickFrom<Item>(random: () => number, items: readonly Item[]): Item {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from no items');
  return item;
}

/** A cancel of a parent or its child, timed by the child's steps, or by the parent's own. */
function planParentCancel(random: () => number, saga: CommandTarget): PlannedCommand {
  const pick = <Item>(items: readonly Item[]) => pickFrom(random, items);
  const child = childSagaIdOf(saga.sagaId, 'pack');
  const childStep = (): Trigger => ({
    _tag: 'AtWindow',
    window: pick(STEP_WINDOWS),
    sagaId: child,
    step: pick(CRASH_SAGA_STEPS[CHILD_CRASH_SAGA]?.tasks ?? []),
    delayMs: 0,
  });
  const roll = random();
  // The parent waits on its child.
  if (roll < 0.4) return { command: 'cancel', sagaId: saga.sagaId, trigger: childStep() };
  // The child runs.
  if (roll < 0.7) return { command: 'cancel', sagaId: child, trigger: childStep() };
  if (roll < 0.85) {
    const step = pick(['reserve', 'ship']);
    const trigger: Trigger = {
      _tag: 'AtWindow',
      window: pick(STEP_WINDOWS),
      sagaId: saga.sagaId,
      step,
      delayMs: 0,
    };
    return { command: 'cancel', sagaId: saga.sagaId, trigger };
  }
  const trigger: Trigger = { _tag: 'AfterStart', delayMs: Math.floor(random() * 1500) };
  return { command: 'cancel', sagaId: saga.sagaId, trigger };
}

/** A cancel of a plain saga: at a step's window, in its rollback (refused), or after a delay. */
function planCancel(random: () => number, saga: CommandTarget): PlannedCommand {
  if (saga.saga === PARENT_CRASH_SAGA) return planParentCancel(random, saga);
  const step = pickFrom(random, CRASH_SAGA_STEPS[saga.saga]?.tasks ?? []);
  const roll = random();
  if (roll < 0.25) {
    const trigger: Trigger = { _tag: 'AfterStart', delayMs: Math.floor(random() * 800) };
    return { command: 'cancel', sagaId: saga.sagaId, trigger };
  }
  // A rolling-back saga refuses a cancel; this one arrives in the middle of an undo.
  const window = roll < 0.35 ? 'undo:before' : pickFrom(random, STEP_WINDOWS);
  const trigger: Trigger = { _tag: 'AtWindow', window, sagaId: saga.sagaId, step, delayMs: 0 };
  return { command: 'cancel', sagaId: saga.sagaId, trigger };
}

/**
 * An undo of a saga once its completion is appended: at once, while its worker still holds the
 * job, or a little later.
 */
function planUndo(random: () => number, saga: CommandTarget): PlannedCommand {
  const delayMs = random() < 0.5 ? 0 : Math.floor(random() * 1500);
  const trigger: Trigger = {
    _tag: 'AtWindow',
    window: 'append:terminal',
    sagaId: saga.sagaId,
    step: 'SagaCompleted',
    delayMs,
  };
  return { command: 'undo', sagaId: saga.sagaId, trigger };
}

function describeTrigger(trigger: Trigger): string {
  switch (trigger._tag) {
    case 'AfterStart':
      return `${trigger.delayMs} ms after start`;
    case 'AtWindow': {
      const later = trigger.delayMs > 0 ? ` + ${trigger.delayMs} ms` : '';
      return `at ${trigger.window} ${trigger.step} of ${trigger.sagaId}${later}`;
    }
  }
}

function outcomeOfFailure(failure: OperatorCommandFailure): CrashCommandOutcome {
  return {
    _tag: 'Refused',
    failure: failure._tag,
    status: failure._tag === 'CommandNotApplicableFailure' ? failure.status : undefined,
    detail: describeOperatorCommandFailure(failure),
  };
}

/** Issues the commands of a crash run; see the module comment. */
export class CrashOperator {
  readonly #random: () => number;
  /** Commands waiting for a window, by the saga whose window it is. */
  readonly #waiting = new Map<string, { planned: PlannedCommand; reason: string }[]>();
  readonly #going = new Set<Promise<void>>();
  readonly #issued: CrashCommand[] = [];
  #next = 0;

  constructor(
    private readonly deps: OperatorCommandDeps,
    seed: number,
  ) {
    // A stream of its own, so the workload and the kills of a seed stay what they were.
    this.#random = createRandom(seed ^ 0x5eed0b5);
  }

  /** The commands that have returned, in the order they were planned. */
  get commands(): readonly CrashCommand[] {
    return [...this.#issued].sort((a, b) => orderOf(a.reason) - orderOf(b.reason));
  }

  /** Plans the command of a saga just started, if it gets one. */
  plan(saga: CommandTarget): void {
    const roll = this.#random();
    if (roll >= CANCEL_SHARE + UNDO_SHARE) return;
    const planned =
      roll < CANCEL_SHARE ? planCancel(this.#random, saga) : planUndo(this.#random, saga);
    const reason = `crash-operator ${planned.command} #${this.#next++}`;
    const { trigger } = planned;
    if (trigger._tag === 'AfterStart') {
      this.#send(planned, reason, describeTrigger(trigger), trigger.delayMs);
      return;
    }
    this.#waiting.set(trigger.sagaId, [
      ...(this.#waiting.get(trigger.sagaId) ?? []),
      { planned, reason },
    ]);
  }

  /** A worker announced a window: the commands waiting for it go out. */
  onWindow(window: string, sagaId: string, step: string): void {
    const waiting = this.#waiting.get(sagaId);
    if (!waiting) return;
    const steps = step.split(',');
    const due = waiting.filter(
      ({ planned: { trigger } }) =>
        trigger._tag === 'AtWindow' && trigger.window === window && steps.includes(trigger.step),
    );
    if (due.length === 0) return;
    const rest = waiting.filter((entry) => !due.includes(entry));
    if (rest.length > 0) this.#waiting.set(sagaId, rest);
    else this.#waiting.delete(sagaId);
    for (const { planned, reason } of due) {
      const { trigger } = planned;
      const delayMs = trigger._tag === 'AtWindow' ? trigger.delayMs : 0;
      this.#send(planned, reason, describeTrigger(trigger), delayMs);
    }
  }

  /**
   * Sends every command whose window never came (its saga ended another way), and waits until
   * every command has returned.
   */
  async flush(): Promise<void> {
    for (const waiting of this.#waiting.values()) {
      for (const { planned, reason } of waiting) this.#send(planned, reason, 'at the end', 0);
    }
    this.#waiting.clear();
    await this.settle();
  }

  /** Waits until every command sent has returned. */
  async settle(): Promise<void> {
    while (this.#going.size > 0) await Promise.all(this.#going);
  }

  #send(planned: PlannedCommand, reason: string, trigger: string, delayMs: number): void {
    const going = new Promise<void>((resolve) => setTimeout(resolve, delayMs))
      .then(() => this.#issue(planned, reason))
      .then((outcome) => {
        const { command, sagaId } = planned;
        this.#issued.push({ command, sagaId, reason, trigger, outcome });
      })
      .finally(() => this.#going.delete(going));
    this.#going.add(going);
  }

  async #issue(planned: PlannedCommand, reason: string): Promise<CrashCommandOutcome> {
    const request = planned.command === 'cancel' ? requestCancel : requestUndo;
    try {
      const result = await request(this.deps, planned.sagaId, { actor: CRASH_OPERATOR, reason });
      if (E.isLeft(result)) return outcomeOfFailure(result.left);
      return { _tag: 'Recorded', revision: result.right.revision, tries: result.right.tries };
    } catch (error) {
      return { _tag: 'Threw', detail: String(error) };
    }
  }
}

function orderOf(reason: string): number {
  return Number(reason.slice(reason.lastIndexOf('#') + 1));
}

/** The commands as one line of counts: recorded and refused, by command. */
export function countCommands(commands: readonly CrashCommand[]): string {
  const of = (name: CrashCommandName) => {
    const mine = commands.filter((command) => command.command === name);
    const recorded = mine.filter((command) => command.outcome._tag === 'Recorded').length;
    const refusals = new Map<string, number>();
    for (const { outcome } of mine) {
      if (outcome._tag === 'Recorded') continue;
      const why = outcome._tag === 'Threw' ? 'threw' : (outcome.status ?? outcome.failure);
      refusals.set(why, (refusals.get(why) ?? 0) + 1);
    }
    const refused = [...refusals].map(([why, count]) => `${why}=${count}`).join(' ');
    return `${mine.length} ${name}s (${recorded} recorded, ${mine.length - recorded} refused${
      refused ? `: ${refused}` : ''
    })`;
  };
  return `${of('cancel')}, ${of('undo')}`;
}

/** The commands table, for a kept schema: what went out, when, and what it returned. */
export const CREATE_COMMANDS_TABLE = `
CREATE TABLE IF NOT EXISTS crash_commands (
  reason text PRIMARY KEY,
  command text NOT NULL,
  saga_id text NOT NULL,
  trigger text NOT NULL,
  outcome jsonb NOT NULL
)`;

const StoredOutcome = t.union([
  t.type({ _tag: t.literal('Recorded'), revision: t.string, tries: t.number }),
  t.type({
    _tag: t.literal('Refused'),
    failure: t.string,
    status: t.union([t.string, t.null]),
    detail: t.string,
  }),
  t.type({ _tag: t.literal('Threw'), detail: t.string }),
]);

const CommandRow = t.type({
  reason: t.string,
  command: t.keyof({ cancel: null, undo: null }),
  saga_id: SagaId,
  trigger: t.string,
  outcome: StoredOutcome,
});

function storeOutcome(outcome: CrashCommandOutcome): t.TypeOf<typeof StoredOutcome> {
  switch (outcome._tag) {
    case 'Recorded':
      return { ...outcome, revision: outcome.revision.toString() };
    case 'Refused':
      return { ...outcome, status: outcome.status ?? null };
    case 'Threw':
      return outcome;
  }
}

function loadOutcome(stored: t.TypeOf<typeof StoredOutcome>): CrashCommandOutcome {
  switch (stored._tag) {
    case 'Recorded':
      return { ...stored, revision: BigInt(stored.revision) };
    case 'Refused':
      return { ...stored, status: stored.status ?? undefined };
    case 'Threw':
      return stored;
  }
}

/** Writes the commands of a run into its schema, to look into with the stored events. */
export async function recordCommands(
  sql: SqlExecutor,
  commands: readonly CrashCommand[],
): Promise<void> {
  for (const { reason, command, sagaId, trigger, outcome } of commands) {
    await sql.query(
      'INSERT INTO crash_commands (reason, command, saga_id, trigger, outcome) ' +
        'VALUES ($1, $2, $3, $4, $5)',
      [reason, command, sagaId, trigger, JSON.stringify(storeOutcome(outcome))],
    );
  }
}

/** Reads back the commands {@link recordCommands} wrote. */
export async function readCommands(sql: SqlExecutor): Promise<CrashCommand[]> {
  const result = await sql.query(
    'SELECT reason, command, saga_id, trigger, outcome FROM crash_commands',
  );
  const commands = result.rows.map((row) => {
    const decoded = CommandRow.decode(row);
    if (E.isLeft(decoded)) throw new Error('crash_commands: unexpected row shape');
    const { reason, command, saga_id: sagaId, trigger, outcome } = decoded.right;
    return { reason, command, sagaId, trigger, outcome: loadOutcome(outcome) };
  });
  return commands.sort((a, b) => orderOf(a.reason) - orderOf(b.reason));
}
