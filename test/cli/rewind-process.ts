import { spawnSync } from 'node:child_process';

/** What a `rewind` process printed and how it exited. */
export interface RewindProcess {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `rewind` command (src/cli/main.ts through tsx) in a process of its own, on the
 * embedded database in `dataDir`: `DATABASE_URL` is dropped, `env` added.
 */
export function runRewind(
  dataDir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): RewindProcess {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { ...inherited, REWIND_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
