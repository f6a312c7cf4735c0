import type { SqlClient } from '../ports/sql.js';
import { openMigratedDatabase } from '../runtime/rewind.js';
import type { CommandIo } from './run-command.js';

/** Runs `work` on the command's database, migrated, and closes it afterwards. */
export async function withDatabase<Result>(
  io: CommandIo,
  work: (sql: SqlClient) => Promise<Result>,
): Promise<Result> {
  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}
