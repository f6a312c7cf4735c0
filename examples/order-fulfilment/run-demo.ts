import * as E from 'fp-ts/lib/Either.js';

import type { RecordedEvent } from '../../src/core/events.js';
import { type SagaId, SagaId as SagaIdCodec } from '../../src/core/ids.js';
import type { Logger } from '../../src/core/logger.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { Rewind } from '../../src/runtime/rewind.js';
import type { SagaNotification } from '../../src/runtime/saga-notification.js';
import { describeStartSagaFailure } from '../../src/runtime/start-saga.js';
import { resolveExampleFile } from './files.js';
import { checkShopInvariants, type ShopCheck } from './invariants.js';
import { type OrderInput, readOrders } from './order.js';
import { createOrderSaga } from './saga.js';
import { Shop } from './shop.js';

/** Options of {@link runOrderDemo}. */
export interface OrderDemoOptions {
  readonly sql: SqlClient;
  /** Default: the example's orders.csv. */
  readonly ordersPath?: string;
  /** Only the first `limit` orders of the file. Default: all. */
  readonly limit?: number;
  /** Sagas run at once. Default: 16. */
  readonly concurrency?: number;
  /** Give up when the sagas have not all ended after this long. Default: 300 s. */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** What the demo did. */
export interface OrderDemoReport {
  readonly orders: number;
  readonly completed: number;
  readonly compensated: number;
  readonly failed: number;
  readonly invariants: readonly ShopCheck[];
  /** A saga that rolled back after more than one step, and its history. */
  readonly sample: { readonly sagaId: SagaId; readonly events: readonly RecordedEvent[] } | null;
  readonly elapsedMs: number;
}

const DEMO_ACTOR = { id: 'demo-operator', tenant: 'demo-shop', roles: ['orders'] } as const;

/** Resolves once `expected` sagas have ended, counting them by final status. */
function countFinished(expected: number, timeoutMs: number) {
  const counts = { completed: 0, compensated: 0, failed: 0 };
  const compensated: SagaId[] = [];
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const ours = new Set<SagaId>();
  const notify = (notification: SagaNotification) => {
    // Other sagas in the store (an operator's undo of an earlier run) may run here too.
    if (notification.type !== 'saga:finished' || !ours.has(notification.sagaId)) return;
    counts[notification.status] += 1;
    if (notification.status === 'compensated') compensated.push(notification.sagaId);
    if (counts.completed + counts.compensated + counts.failed >= expected) resolveDone();
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the sagas did not all end within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  if (expected === 0) resolveDone();
  const finished = Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  return { counts, compensated, notify, finished, ours };
}

async function pickSample(rewind: Rewind, candidates: readonly SagaId[]) {
  for (const sagaId of candidates) {
    const events = await rewind.history(sagaId);
    if (E.isLeft(events)) continue;
    const undone = events.right.filter((recorded) => recorded.event.type === 'StepCompensated');
    if (undone.length >= 2) return { sagaId, events: events.right };
  }
  return null;
}

/**
 * Runs the order-fulfilment example end to end on `sql`: resets the shop, starts one saga per
 * order, runs the projector and a worker until every saga has ended, then checks the shop's
 * invariants. Each call is a fresh shop; the event history of earlier runs is kept.
 */
export async function runOrderDemo(options: OrderDemoOptions): Promise<OrderDemoReport> {
  const begin = Date.now();
  // Read the orders first: a bad file must leave the shop as it was.
  const all = await readOrders(options.ordersPath ?? resolveExampleFile('orders.csv'));
  const shop = new Shop(options.sql);
  await shop.resetShop();
  const saga = createOrderSaga(shop);
  const rewind = new Rewind({
    sql: options.sql,
    sagas: [saga],
    ...(options.logger ? { logger: options.logger } : {}),
  });

  const orders: readonly OrderInput[] =
    options.limit === undefined ? all : all.slice(0, options.limit);
  const tracker = countFinished(orders.length, options.timeoutMs ?? 300_000);

  const projector = rewind.startProjector({ pollMs: 200 });
  const worker = rewind.createWorker({
    concurrency: options.concurrency ?? 16,
    pollMs: 200,
    notify: tracker.notify,
  });
  worker.start();
  try {
    for (const order of orders) {
      const sagaId = rewind.ids.newId();
      if (SagaIdCodec.is(sagaId)) tracker.ours.add(sagaId);
      const started = await rewind.start(saga, order, { actor: DEMO_ACTOR, sagaId });
      if (E.isLeft(started)) throw new Error(describeStartSagaFailure(started.left));
    }
    await tracker.finished;
  } finally {
    await worker.stop();
    await projector.stop();
  }

  return {
    orders: orders.length,
    ...tracker.counts,
    invariants: await checkShopInvariants(options.sql),
    sample: await pickSample(rewind, tracker.compensated),
    elapsedMs: Date.now() - begin,
  };
}
