import * as E from 'fp-ts/lib/Either.js';

import { runOrderDemo } from '../../examples/order-fulfilment/run-demo.js';
import { openMigratedDatabase } from '../runtime/rewind.js';
import {
  decodeArgument,
  decodeOptionalArgument,
  NonEmptyArgument,
  WholeNumberArgument,
} from './cli-arguments.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';
import { buildTimeline, formatTimeline } from './timeline.js';

const DEFAULT_CONCURRENCY = 16;

/** Options of `rewind demo`, as typed. */
export interface DemoCommandOptions {
  /** An orders CSV. Default: the example's own orders. */
  readonly orders?: string;
  /** Sagas run at once, a whole number from 1. Default: 16. */
  readonly concurrency?: string;
}

/** `rewind demo`: the order-fulfilment example, on the embedded database by default. */
export async function runDemoCommand(
  io: CommandIo,
  options: DemoCommandOptions,
): Promise<CommandResult> {
  const orders = decodeOptionalArgument(NonEmptyArgument, 'demo: --orders', options.orders);
  if (E.isLeft(orders)) return refuse(orders.left, 2);
  const concurrency = decodeArgument(
    WholeNumberArgument(1),
    'demo: --concurrency',
    options.concurrency ?? String(DEFAULT_CONCURRENCY),
  );
  if (E.isLeft(concurrency)) return refuse(concurrency.left, 2);

  const where = io.config.databaseUrl
    ? 'Postgres (DATABASE_URL)'
    : `embedded PGlite in ${io.config.dataDir}/`;
  io.out(`rewind demo: order fulfilment on ${where}`);
  const sql = await openMigratedDatabase(io.config, io.logger);
  try {
    const report = await runOrderDemo({
      sql,
      concurrency: concurrency.right,
      logger: io.logger,
      ...(orders.right === undefined ? {} : { ordersPath: orders.right }),
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
