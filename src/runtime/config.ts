import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { describeDecodeErrors } from '../core/decode-failure.js';

const PostgresUrl = t.refinement(
  t.string,
  (url) => /^postgres(ql)?:\/\//.test(url),
  'a postgres:// connection URL',
);

const EventStoreUrl = t.refinement(
  t.string,
  (url) => /^(esdb|kurrentdb)(\+discover)?:\/\//.test(url),
  'an esdb:// connection string',
);

/** Where Rewind keeps its data, from the environment or from code. */
export const RewindConfig = t.intersection(
  [
    t.type({
      /** Folder of the embedded database; used when `databaseUrl` is not set. */
      dataDir: t.string,
    }),
    t.partial({
      /** Postgres for events and jobs (`DATABASE_URL`). Default: the embedded PGlite. */
      databaseUrl: PostgresUrl,
      /** EventStoreDB for the events (`EVENTSTORE_URL`); jobs stay in Postgres. Default: none. */
      eventstoreUrl: EventStoreUrl,
    }),
  ],
  'RewindConfig',
);
export type RewindConfig = t.TypeOf<typeof RewindConfig>;

/** A configuration that does not decode: which variable, and why. */
export interface ConfigFailure {
  readonly _tag: 'ConfigFailure';
  readonly message: string;
}

const DEFAULT_DATA_DIR = '.rewind';

/**
 * Reads the configuration from environment variables: `DATABASE_URL` (Postgres),
 * `EVENTSTORE_URL` (EventStoreDB for the events), and
 * `REWIND_DATA_DIR` (the embedded database's folder, default `.rewind` in the working folder).
 */
export function readConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): E.Either<ConfigFailure, RewindConfig> {
  const raw = {
    dataDir: env.REWIND_DATA_DIR ?? DEFAULT_DATA_DIR,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.EVENTSTORE_URL ? { eventstoreUrl: env.EVENTSTORE_URL } : {}),
  };
  const decoded = RewindConfig.decode(raw);
  if (E.isRight(decoded)) return decoded;
  const { path, message } = describeDecodeErrors(decoded.left);
  const variable = path.includes('databaseUrl')
    ? 'DATABASE_URL'
    : path.includes('eventstoreUrl')
      ? 'EVENTSTORE_URL'
      : 'REWIND_DATA_DIR';
  return E.left({ _tag: 'ConfigFailure', message: `${variable}: ${message}` });
}

/** The folder of the embedded database's files, created if missing. */
export function embeddedDatabaseDir(config: RewindConfig): string {
  const dir = join(resolve(config.dataDir), 'pgdata');
  mkdirSync(dir, { recursive: true });
  return dir;
}
