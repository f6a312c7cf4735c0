import type { RecordedEvent } from '../core/events.js';

/** One row of a saga's timeline. */
export interface TimelineRow {
  readonly revision: string;
  readonly occurredAt: string;
  readonly type: string;
  readonly step: string;
  readonly attempt: string;
  readonly actor: string;
  /** How long the step attempt took, on the event that ended it. */
  readonly durationMs: number | null;
  readonly detail: string;
}

function stepOf(recorded: RecordedEvent): { step: string; attempt: number | null } {
  const { data } = recorded.event;
  const step = 'step' in data && typeof data.step === 'string' ? data.step : '';
  const attempt = 'attempt' in data && typeof data.attempt === 'number' ? data.attempt : null;
  return { step, attempt };
}

function detailOf(recorded: RecordedEvent): string {
  const { event } = recorded;
  switch (event.type) {
    case 'StepFailed':
      return `${event.data.failure.name}: ${event.data.failure.message}`;
    case 'StepCompensationFailed':
    case 'SagaFailed':
      return `${event.data.failure.name}: ${event.data.failure.message}`;
    case 'StepRetryScheduled':
      return `due ${event.data.dueAt}`;
    case 'StepCompensationRetryScheduled':
      return `${event.data.failure.message}; again at ${event.data.dueAt}`;
    case 'StepRecovered':
      return `recovered from ${event.data.failure.name}: ${event.data.failure.message}`;
    case 'StepInterrupted':
    case 'SagaHalted':
    case 'StepSkipped':
      return event.data.reason;
    case 'ChildSagaStarted':
      return `child ${event.data.saga} ${event.data.childSagaId}`;
    case 'CompensationStarted':
      if (event.data.step !== null) return `because ${event.data.step} failed`;
      return event.data.failure.name === 'SagaUndoRequested'
        ? `undo requested: ${event.data.failure.message}`
        : `cancelled: ${event.data.failure.message}`;
    case 'SagaStarted':
      return `${event.data.saga} v${event.data.version}`;
    default:
      return '';
  }
}

/** The rows of a saga's timeline: one per event, with each step attempt's duration. */
export function buildTimeline(events: readonly RecordedEvent[]): TimelineRow[] {
  const startedAt = new Map<string, number>();
  return events.map((recorded) => {
    const { step, attempt } = stepOf(recorded);
    const at = Date.parse(recorded.metadata.occurredAt);
    const key = `${step}#${attempt}`;
    let durationMs: number | null = null;
    if (recorded.event.type === 'StepStarted') startedAt.set(key, at);
    if (recorded.event.type === 'StepCompleted' || recorded.event.type === 'StepFailed') {
      const start = startedAt.get(key);
      durationMs = start === undefined ? null : at - start;
    }
    return {
      revision: recorded.revision.toString(),
      occurredAt: recorded.metadata.occurredAt,
      type: recorded.event.type,
      step,
      attempt: attempt === null ? '' : String(attempt),
      actor: recorded.metadata.actor.id,
      durationMs,
      detail: detailOf(recorded),
    };
  });
}

const COLUMNS = ['#', 'time', 'event', 'step', 'attempt', 'actor', 'took', 'detail'] as const;

/** A timeline as an aligned text table. */
export function formatTimeline(rows: readonly TimelineRow[]): string {
  const cells = rows.map((row) => [
    row.revision,
    row.occurredAt,
    row.type,
    row.step,
    row.attempt,
    row.actor,
    row.durationMs === null ? '' : `${row.durationMs} ms`,
    row.detail,
  ]);
  const widths = COLUMNS.map((title, i) =>
    Math.max(title.length, ...cells.map((line) => (line[i] ?? '').length)),
  );
  const pad = (line: readonly string[]) =>
    line
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [pad(COLUMNS), ...cells.map(pad)].join('\n');
}
