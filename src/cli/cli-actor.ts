import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

import { ADMIN_ROLE } from '../audit/authorization.js';
import { describeDecodeErrors } from '../core/decode-failure.js';
import type { Actor } from '../core/events.js';

/** The actor options every command takes: `--actor`, `--tenant`, `--role` (repeatable). */
export interface ActorOptions {
  readonly actor?: string;
  readonly tenant?: string;
  readonly role?: readonly string[];
}

const NonEmptyString = t.refinement(t.string, (s) => s.trim().length > 0, 'a non-empty string');

const ActorArguments = t.intersection([
  t.type({ id: NonEmptyString }),
  t.partial({ tenant: NonEmptyString, roles: t.readonlyArray(NonEmptyString) }),
]);

/**
 * The actor a read-only command runs as when none is named: the local operator, who may read
 * every tenant's sagas. Whoever runs the CLI can reach the database anyway; commands that write
 * require a named actor.
 */
export const LOCAL_OPERATOR: Actor = { id: 'local-operator', roles: [ADMIN_ROLE] };

/**
 * The actor of a command, from its options or the environment (`REWIND_ACTOR`, `REWIND_TENANT`,
 * `REWIND_ROLES` comma-separated), decoded with io-ts. With `required` false and no actor named,
 * {@link LOCAL_OPERATOR}.
 */
export function resolveActor(
  options: ActorOptions,
  required: boolean,
  env: NodeJS.ProcessEnv = process.env,
): E.Either<string, Actor> {
  const id = options.actor ?? env.REWIND_ACTOR;
  if (id === undefined) {
    return required ? E.left('--actor (or REWIND_ACTOR) is required') : E.right(LOCAL_OPERATOR);
  }
  const tenant = options.tenant ?? env.REWIND_TENANT;
  const roles = options.role?.length ? options.role : env.REWIND_ROLES?.split(',');
  const raw = {
    id,
    ...(tenant === undefined ? {} : { tenant }),
    ...(roles === undefined ? {} : { roles }),
  };
  const decoded = ActorArguments.decode(raw);
  if (E.isRight(decoded)) return decoded;
  const { path, message } = describeDecodeErrors(decoded.left);
  return E.left(`--${path.split('.')[0] === 'id' ? 'actor' : path}: ${message}`);
}
