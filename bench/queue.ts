/**
 * Rewind's job queue against graphile-worker (default and batched settings) and pg-boss, all on
 * one Postgres, each in a schema of its own:
 *
 *   (a) drain: 20,000 no-op jobs inserted up front, then drained at concurrency 10: jobs/s;
 *   (b) latency: 1,000 jobs inserted one after another into an idle, running worker: the time
 *       from the insert call to the handler's start, p50 and p99.
 *
 * The drains go in rounds, each round one drain of every system in turn on a fresh schema, so a
 * noisy spell of a shared machine falls on all of them rather than on one; the table gives each
 * system's median, and the ratio of Rewind to graphile-worker (batched) is also given round by
 * round. A drain is cut off after 30 s and reported over the jobs it finished; a system whose
 * drain took over 10 s is not drained again (pg-boss), so the run stays within a few minutes.
 *
 * Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/queue.ts`
 * Optional: BENCH_JOBS, BENCH_LATENCY_JOBS, BENCH_ROUNDS (default 5), and BENCH_ONLY, a comma list
 * of schema names (bench_rewind, bench_rewind_batched, bench_gw_default, bench_gw_batched,
 * bench_pgboss, bench_pgboss_batched).
 */
import pg from 'pg';

import { createGraphile, createPgBoss, createRewind, type QueueUnderTest } from './queue/peers.js';

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DRAIN_JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 1000);
const CONCURRENCY = 10;
const DRAIN_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// pg-boss waits its polling interval (0.5 s at least) between fetches, so it is cut off early.
const DRAIN_CUTOFF_MS = 30_000;

interface Result {
  readonly name: string;
  readonly jobsPerSecond: number;
  readonly drained: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The drain rate of each round, in order. */
  readonly rounds: readonly number[];
}

async function resetSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
}

async function dropSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}

function waitForCount(target: number, cutoffMs: number) {
  let count = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const timer = setTimeout(() => finish(), cutoffMs);
  return {
    tick: () => {
      count++;
      if (count === target) finish();
    },
    done: done.then(() => {
      clearTimeout(timer);
      return count;
    }),
  };
}

async function measureDrain(system: QueueUnderTest): Promise<{ rate: number; drained: number }> {
  await system.insertBulk(DRAIN_JOBS);
  const counter = waitForCount(DRAIN_JOBS, DRAIN_CUTOFF_MS);
  const startedAt = performance.now();
  await system.startWorkers(CONCURRENCY, counter.tick);
  const drained = await counter.done;
  const seconds = (performance.now() - startedAt) / 1000;
  await system.stopWorkers();
  return { rate: drained / seconds, drained };
}

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

async function measureLatency(system: QueueUnderTest): Promise<{ p50: number; p99: number }> {
  const insertedAt = new Map<number, number>();
  const latencies: number[] = [];
  const counter = waitForCount(LATENCY_JOBS, DRAIN_CUTOFF_MS);
  await system.startWorkers(CONCURRENCY, (args) => {
    const i = typeof args === 'object' && args !== null && 'i' in args ? Number(args.i) : -1;
    const at = insertedAt.get(i);
    if (at === undefined) return;
    latencies.push(performance.now() - at);
    counter.tick();
  });
  // Let the workers settle into their idle wait before the first insert.
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Sequential on purpose: each job is inserted (and committed) after the previous one.
  for (let i = 0; i < LATENCY_JOBS; i++) {
    insertedAt.set(i, performance.now());
    await system.insertOne({ i });
  }
  await counter.done;
  await system.stopWorkers();
  const sorted = latencies.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

type System = readonly [schema: string, create: (schema: string) => Promise<QueueUnderTest>];

interface Drain {
  readonly rate: number;
  readonly drained: number;
}

async function drainOnce([schema, create]: System): Promise<Drain & { name: string }> {
  await resetSchema(schema);
  const system = await create(schema);
  const measured = await measureDrain(system);
  await system.close();
  return { ...measured, name: system.name };
}

async function measureLatencyOf([schema, create]: System): Promise<{ p50: number; p99: number }> {
  await resetSchema(schema);
  const system = await create(schema);
  const latency = await measureLatency(system);
  await system.close();
  await dropSchema(schema);
  return latency;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/**
 * Drains every system once per round, by schema: its name and the drains of each round. A system
 * whose drain took over 10 s sits out the later rounds.
 */
async function drainInRounds(
  systems: readonly System[],
): Promise<Map<string, { name: string; drains: Drain[] }>> {
  const bySchema = new Map<string, { name: string; drains: Drain[] }>();
  const slow = new Set<string>();
  for (let round = 1; round <= DRAIN_ROUNDS; round++) {
    for (const system of systems) {
      const [schema] = system;
      if (slow.has(schema)) continue;
      const startedAt = performance.now();
      const { name, ...drain } = await drainOnce(system);
      if (performance.now() - startedAt > 10_000) slow.add(schema);
      const drains = [...(bySchema.get(schema)?.drains ?? []), drain];
      bySchema.set(schema, { name, drains });
      process.stderr.write(`round ${round}: ${name} ${drain.rate.toFixed(0)} jobs/s\n`);
    }
  }
  return bySchema;
}

async function benchmark(systems: readonly System[]): Promise<Result[]> {
  const bySchema = await drainInRounds(systems);
  const results: Result[] = [];
  for (const system of systems) {
    const latency = await measureLatencyOf(system);
    const { name, drains } = bySchema.get(system[0]) ?? { name: system[0], drains: [] };
    const result = {
      name,
      jobsPerSecond: median(drains.map((drain) => drain.rate)),
      drained: Math.min(...drains.map((drain) => drain.drained)),
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      rounds: drains.map((drain) => drain.rate),
    };
    process.stderr.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  return results;
}

function formatRow(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

function printTable(results: readonly Result[]): void {
  const plain = results.find((result) => result.name === 'Rewind (default)');
  const batched = results.find((result) => result.name.startsWith('Rewind (prefetch'));
  const graphile = results.find((result) => result.name === 'graphile-worker (batched)');
  // Ratios need Rewind's own row; without it (BENCH_ONLY) the results on stderr are all there is.
  if (!plain) return;
  const header = [
    'system',
    'drain jobs/s',
    'Rewind default/peer',
    'Rewind prefetch/peer',
    'p50 ms',
    'p99 ms',
    'p50 Rewind/peer',
  ];
  const rows = results.map((result) => [
    result.name + (result.drained < DRAIN_JOBS ? ` (${result.drained} jobs in the cut-off)` : ''),
    result.jobsPerSecond.toFixed(0),
    ratio(plain.jobsPerSecond, result.jobsPerSecond),
    batched ? ratio(batched.jobsPerSecond, result.jobsPerSecond) : '-',
    result.p50Ms.toFixed(2),
    result.p99Ms.toFixed(2),
    ratio(plain.p50Ms, result.p50Ms),
  ]);
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  console.log(`\n${DRAIN_JOBS} no-op jobs drained at concurrency ${CONCURRENCY}, median of`);
  console.log(`${DRAIN_ROUNDS} rounds; latency over ${LATENCY_JOBS} single inserts\n`);
  console.log(formatRow(header, widths));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(formatRow(row, widths));
  if (graphile) {
    const perRound = plain.rounds.map((rate, i) => ratio(rate, graphile.rounds[i] ?? Number.NaN));
    console.log(
      `\nRewind (default) / graphile-worker (batched), round by round: ${perRound.join(' ')}`,
    );
  }
}

const ONLY = process.env.BENCH_ONLY?.split(',');
const systems: System[] = [
  ['bench_rewind', (schema) => createRewind(URL, schema, undefined)],
  ['bench_rewind_batched', (schema) => createRewind(URL, schema, 490)],
  ['bench_gw_default', (schema) => createGraphile(URL, schema, false)],
  ['bench_gw_batched', (schema) => createGraphile(URL, schema, true)],
  ['bench_pgboss', (schema) => createPgBoss(URL, schema)],
  ['bench_pgboss_batched', (schema) => createPgBoss(URL, schema, 100)],
];
printTable(await benchmark(systems.filter(([schema]) => !ONLY || ONLY.includes(schema))));
