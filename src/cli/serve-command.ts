import * as E from 'fp-ts/lib/Either.js';

import { createServeApp } from '../serve/serve-app.js';
import { type ActorOptions, resolveActor } from './cli-actor.js';
import { decodeArgument, NonEmptyArgument, PortArgument } from './cli-arguments.js';
import { withDatabase } from './open-sql.js';
import { type CommandIo, type CommandResult, refuse, succeed } from './run-command.js';

/**
 * `rewind serve [--port 4000] [--host 127.0.0.1]`: the local web page of sagas, timelines and
 * state at any event, read as the actor (default the local operator), until interrupted.
 */
export async function runServeCommand(
  io: CommandIo,
  options: ActorOptions & { readonly port: string; readonly host: string; readonly json: boolean },
): Promise<CommandResult> {
  const port = decodeArgument(PortArgument, 'serve: --port', options.port);
  if (E.isLeft(port)) return refuse(port.left, 2);
  const host = decodeArgument(NonEmptyArgument, 'serve: --host', options.host);
  if (E.isLeft(host)) return refuse(host.left, 2);
  const actor = resolveActor(options, false);
  if (E.isLeft(actor)) return refuse(`serve: ${actor.left}`, 2);

  return withDatabase(io, async (sql) => {
    const server = createServeApp({ sql, actor: actor.right, logger: io.logger });
    await new Promise<void>((resolve) => server.listen(port.right, options.host, resolve));
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port.right;
    const url = `http://${options.host}:${bound}/`;
    io.out(options.json ? JSON.stringify({ url }) : `rewind serve: ${url} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return succeed;
  });
}
