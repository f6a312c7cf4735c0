import cliProgress from 'cli-progress';

/** A progress bar on standard error, or nothing. */
export interface Progress {
  readonly tick: (by?: number) => void;
  readonly stop: () => void;
}

const SILENT: Progress = { tick: () => {}, stop: () => {} };

/**
 * A progress bar for a long command: drawn on standard error when it is a terminal and the
 * command prints text; when piped, or with `--json`, it prints nothing at all.
 */
export function startProgress(label: string, total: number, json: boolean): Progress {
  if (json || !process.stderr.isTTY || total <= 1) return SILENT;
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { tick: (by = 1) => bar.increment(by), stop: () => bar.stop() };
}
