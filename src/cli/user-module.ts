import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import * as E from 'fp-ts/lib/Either.js';

/** What to take from a module given on the command line, and what it is called in a refusal. */
export interface UserModuleOption<Definition> {
  /** The command and option, as a refusal names them: `plan: --sagas`. */
  readonly name: string;
  /** What the module must export at least one of: `saga definitions`. */
  readonly what: string;
  /** Whether an exported value is one of those. */
  readonly is: (value: unknown) => value is Definition;
}

/** The `typeof` of a field that {@link hasFields} checks, or `array`. */
type FieldKind = 'string' | 'number' | 'function' | 'array';

/**
 * Whether `value` is an object with each of `fields` of its kind: how the loaders below tell a
 * saga definition, a job worker or a cron schedule among a module's exports.
 */
export function hasFields(value: unknown, fields: Readonly<Record<string, FieldKind>>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(fields).every(([field, kind]) => {
    // Inherited fields count too: a definition may keep its methods on a prototype.
    const found: unknown = Reflect.get(value, field);
    return kind === 'array' ? Array.isArray(found) : typeof found === kind;
  });
}

/**
 * What the module at `path` exports of a kind: every export that `is` one, or an array of them
 * (`export const sagas = [a, b]`), the default export included, each once. Rejects with what
 * the import threw.
 */
async function importExportsOf<Definition>(
  path: string,
  is: (value: unknown) => value is Definition,
): Promise<Definition[]> {
  const loaded: unknown = await import(pathToFileURL(resolve(path)).href);
  if (typeof loaded !== 'object' || loaded === null) return [];
  const exported = Object.values(loaded).flatMap((value: unknown) =>
    Array.isArray(value) ? value : [value],
  );
  return [...new Set(exported.filter(is))];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Imports a user's module named by a command-line option (`--sagas`, `--workers`) and checks that
 * it exports something of the kind asked for. Left with a sentence naming the option and the file:
 * `plan: --sagas sagas.ts: no such file`, `…: <what its import threw>`, `… exports no saga
 * definitions`. Every command that takes such a module loads it through this, before it opens the
 * database, so a bad one is bad input (exit 2) everywhere and nothing is written.
 */
export async function importUserModule<Definition>(
  option: UserModuleOption<Definition>,
  path: string,
): Promise<E.Either<string, readonly Definition[]>> {
  const where = `${option.name} ${path}`;
  // Checked first: Node's own message for a missing module names our loader, not the user's file.
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) return E.left(`${where}: no such file`);
  if (!found.isFile()) return E.left(`${where}: not a file`);

  // A module that throws while it loads is the user's input, not our crash: say which and why.
  const imported = await importExportsOf(path, option.is).then(
    (found) => E.right(found),
    (error: unknown) => E.left(messageOf(error)),
  );
  if (E.isLeft(imported)) return E.left(`${where}: ${imported.left}`);
  if (imported.right.length === 0) return E.left(`${where} exports no ${option.what}`);
  return imported;
}
