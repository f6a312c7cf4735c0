import { countJobs, type QueueDepth } from '../queue/maintain-jobs.js';
import { openMigratedDatabase } from '../runtime/rewind.js';
import { type CommandIo, type CommandResult, succeed } from './run-command.js';

const STATES = [
  'available',
  'scheduled',
  'executing',
  'retryable',
  'completed',
  'discarded',
  'cancelled',
] as const;

/** One line per queue: its jobs by state, and how many of the waiting ones are due. */
export function formatQueueDepths(depths: readonly QueueDepth[]): string[] {
  const byQueue = new Map<string, Map<string, number>>();
  const due = new Map<string, number>();
  for (const depth of depths) {
    const states = byQueue.get(depth.queue) ?? new Map<string, number>();
    states.set(depth.state, depth.count);
    byQueue.set(depth.queue, states);
    due.set(depth.queue, (due.get(depth.queue) ?? 0) + depth.due);
  }
  if (byQueue.size === 0) return ['no jobs'];
  const header = ['queue', ...STATES, 'due'];
  const rows = [...byQueue].map(([queue, states]) => [
    queue,
    ...STATES.map((state) => String(states.get(state) ?? 0)),
    String(due.get(queue) ?? 0),
  ]);
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * `rewind jobs [--json]`: the depth of every queue by state. With `--json`, one JSON line per
 * (queue, state): `{ queue, state, count, due }`.
 */
export async function runJobsCommand(
  io: CommandIo,
  options: { readonly json: boolean },
): Promise<CommandResult> {
  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    const depths = await countJobs(sql);
    if (options.json) for (const depth of depths) io.out(JSON.stringify(depth));
    else for (const line of formatQueueDepths(depths)) io.out(line);
    return succeed;
  } finally {
    await sql.close();
  }
}
