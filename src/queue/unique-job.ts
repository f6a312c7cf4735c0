import { createHash } from 'node:crypto';

import type { Json } from './stored-values.js';

/** Which jobs count as the same, for {@link uniqueJob}. */
export interface UniqueJobOptions {
  /**
   * The args fields that take part in the key, by top-level name. Default: all of `args`. Give
   * `[]` to make every job of the queue and kind the same.
   */
  readonly argsFields?: readonly string[];
  /**
   * Jobs are the same only within one period of this many milliseconds, counted from the Unix
   * epoch (a fixed window: a job at 11:59 and one at 12:01 fall in two hourly windows). Default:
   * no period.
   */
  readonly periodMs?: number;
  /**
   * `active`: the key is free again once the job ends (completed, discarded, cancelled).
   * `all`: the key stays taken in every state, until the job is deleted. Default: `active`.
   */
  readonly states?: 'active' | 'all';
  /** The time that picks the period. Default: now. */
  readonly now?: Date;
}

type JsonObject = { readonly [key: string]: Json };

function isJsonObject(value: Json): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Sorted keys, so that equal args give equal keys whatever order their fields were written in.
function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (!isJsonObject(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] ?? null)}`);
  return `{${entries.join(',')}}`;
}

function pickFields(args: Json, fields: readonly string[] | undefined): Json {
  if (fields === undefined) return args;
  if (!isJsonObject(args)) return null;
  const picked: Record<string, Json> = {};
  for (const field of fields) picked[field] = args[field] ?? null;
  return picked;
}

/** The unique-key fields of a job: `uniqueActiveKey` or `uniqueKey`, as `options.states` says. */
export type UniqueJobKey = { readonly uniqueActiveKey: string } | { readonly uniqueKey: string };

/**
 * Derives a job's unique key from its queue, kind, chosen args fields and period, for spreading
 * into a `NewJob`. The database enforces it with a unique index, so it holds across concurrent
 * inserts and rolled-back transactions (BC-06).
 *
 * @example
 * await insertJobs(sql, [
 *   { ...job, ...uniqueJob(job, { argsFields: ['userId'], periodMs: 60_000 }) },
 * ]);
 */
export function uniqueJob(
  job: { readonly queue: string; readonly kind: string; readonly args: Json },
  options: UniqueJobOptions = {},
): UniqueJobKey {
  const { periodMs } = options;
  if (periodMs !== undefined && (!Number.isFinite(periodMs) || periodMs <= 0)) {
    throw new RangeError(`uniqueJob: periodMs must be positive, got ${periodMs}`);
  }
  const window =
    periodMs === undefined
      ? ''
      : String(Math.floor((options.now ?? new Date()).getTime() / periodMs));
  const source = [
    job.queue,
    job.kind,
    canonicalJson(pickFields(job.args, options.argsFields)),
    window,
  ];
  const key = `u:${createHash('sha256').update(JSON.stringify(source)).digest('hex')}`;
  return options.states === 'all' ? { uniqueKey: key } : { uniqueActiveKey: key };
}
