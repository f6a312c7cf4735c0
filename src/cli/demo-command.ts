import { runOrderDemo } from '../../examples/order-fulfilment/run-demo.js';
import { openMigratedDatabase } from '../runtime/rewind.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { buildTimeline, formatTimeline } from './timeline.js';

/** `rewind demo`: the order-fulfilment example, on the embedded database by default. */
export async function runDemoCommand(
  io: CommandIo,
  options: { readonly orders?: string; readonly concurrency: number },
): Promise<CommandResult> {
  const where = io.config.databaseUrl
    ? 'Postgres (DATABASE_URL)'
    : `embedded PGlite in ${io.config.dataDir}/`;
  io.out(`rewind demo: order fulfilment on ${where}`);
  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    const report = await runOrderDemo({
      sql,
      concurrency: options.concurrency,
      logger: io.logger,
      ...(options.orders ? { ordersPath: options.orders } : {}),
    });

    io.out('');
    io.out(`orders:       ${report.orders}`);
    io.out(`completed:    ${report.completed}`);
    io.out(`compensated:  ${report.compensated}`);
    io.out(`failed:       ${report.failed}`);
    io.out(`took:         ${(report.elapsedMs / 1000).toFixed(1)} s`);
    io.out('');
    io.out('shop invariants:');
    for (const check of report.invariants) {
      io.out(`  ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
    }
    if (report.sample) {
      io.out('');
      io.out(`timeline of compensated saga ${report.sample.sagaId}:`);
      io.out(formatTimeline(buildTimeline(report.sample.events)));
      io.out('');
      io.out(`(again any time: npx rewind history ${report.sample.sagaId})`);
    }

    const broken = report.invariants.filter((check) => !check.passed);
    if (broken.length > 0) return refuse(`demo: ${broken.length} shop invariant(s) do not hold`);
    if (report.failed > 0) return refuse(`demo: ${report.failed} saga(s) ended failed`);
    return succeed;
  } finally {
    await sql.close();
  }
}
