import * as E from 'fp-ts/lib/Either.js';

import {
  checkStreamIntegrity,
  describeIntegrityFinding,
  isTamperFinding,
  listStreamNames,
} from '../audit/integrity.js';
import { StreamName, sagaStreamName } from '../core/ids.js';
import { decodeArgument, SagaIdArgument } from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { startProgress } from './progress.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';

/**
 * `rewind verify --integrity [--saga <id>] [--json]`: recomputes the hash chain of every stream
 * (or one saga's) and names each event that was edited, removed or moved. Exit code 1 when any
 * stream was tampered with. With `--json`, one line per stream with its head hash, to anchor
 * elsewhere.
 */
export async function runIntegrityCommand(
  io: CommandIo,
  options: { readonly saga?: string; readonly json: boolean },
): Promise<CommandResult> {
  const saga =
    options.saga === undefined
      ? E.right(undefined)
      : decodeArgument(SagaIdArgument, 'verify: --saga', options.saga);
  if (E.isLeft(saga)) return refuse(saga.left, 2);

  return withDatabase(io, async (sql) => {
    const names =
      saga.right === undefined ? await listStreamNames(sql) : [sagaStreamName(saga.right)];
    const progress = startProgress('verify', names.length, options.json);
    let tampered = 0;
    let events = 0;
    try {
      for (const name of names) {
        if (!StreamName.is(name)) continue;
        const verdict = await checkStreamIntegrity(sql, name);
        progress.tick();
        events += verdict.events;
        const bad = verdict.findings.filter(isTamperFinding);
        if (bad.length > 0) tampered += 1;
        if (options.json) {
          io.out(
            JSON.stringify({
              stream: name,
              events: verdict.events,
              headHash: verdict.headHash,
              intact: bad.length === 0,
              findings: verdict.findings.map((finding) => ({
                ...finding,
                revision: finding.revision.toString(),
                ...('foundNext' in finding ? { foundNext: finding.foundNext.toString() } : {}),
                message: describeIntegrityFinding(name, finding),
              })),
            }),
          );
        } else {
          for (const finding of verdict.findings) io.out(describeIntegrityFinding(name, finding));
        }
      }
    } finally {
      progress.stop();
    }
    if (saga.right !== undefined && events === 0)
      return refuse(`verify: saga ${saga.right} has no events`);
    if (!options.json)
      io.out(`${names.length} stream(s), ${events} event(s) checked, ${tampered} tampered with`);
    return tampered > 0
      ? refuse(`verify: ${tampered} stream(s) fail the integrity check`)
      : succeed;
  });
}
