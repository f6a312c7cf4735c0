import { migrate } from '../adapters/postgres/migrate.js';
import { openDatabase } from '../runtime/rewind.js';
import { type CommandIo, type CommandResult, succeed } from './run-command.js';

/** `rewind migrate`: applies pending migrations and says which. */
export async function runMigrateCommand(io: CommandIo): Promise<CommandResult> {
  const sql = await openDatabase(io.config, io.logger);
  try {
    const applied = await migrate(sql);
    io.out(
      applied.length === 0 ? 'migrations: up to date' : `migrations applied: ${applied.join(', ')}`,
    );
    return succeed;
  } finally {
    await sql.close();
  }
}
