import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SqlClient } from '../../ports/sql.js';

/** One numbered SQL file of `migrations/`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly script: string;
}

const MIGRATION_FILE = /^(\d{3,})_([\w-]+)\.sql$/;

// Serialises concurrent `migrate` calls from several processes on one database.
const MIGRATION_LOCK_KEY = 0x72657769;

/** The folder of the package's own `migrations/`, found from this file in `src/` or `dist/`. */
export function findMigrationsDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no migrations folder above ${from}`);
    dir = parent;
  }
}

/** Reads the numbered migrations of a folder, in order. */
export function readMigrations(dir: string = findMigrationsDir()): Migration[] {
  return readdirSync(dir)
    .flatMap((file) => {
      const match = MIGRATION_FILE.exec(file);
      if (!match?.[1] || !match[2]) return [];
      const script = readFileSync(join(dir, file), 'utf8');
      return [{ version: Number(match[1]), name: match[2], script }];
    })
    .sort((a, b) => a.version - b.version);
}

/**
 * Applies the migrations that the database has not seen yet, each in its own transaction, and
 * returns the versions applied. Safe to call from several processes at once.
 */
export async function migrate(
  sql: SqlClient,
  migrations: readonly Migration[] = readMigrations(),
): Promise<number[]> {
  await sql.exec(`CREATE TABLE IF NOT EXISTS rewind_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);

  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const seen = await tx.query('SELECT 1 FROM rewind_migrations WHERE version = $1', [
        migration.version,
      ]);
      if (seen.rows.length > 0) return false;
      await tx.exec(migration.script);
      await tx.query('INSERT INTO rewind_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
