import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import * as E from 'fp-ts/lib/Either.js';

import { createPostgresEventStore } from '../adapters/postgres/postgres-event-store.js';
import { type AuthorizationPolicy, tenantPolicy } from '../audit/authorization.js';
import { authorizeSagaAccess } from '../audit/saga-ownership.js';
import { buildTimeline } from '../cli/timeline.js';
import type { Actor } from '../core/events.js';
import { SagaId, sagaStreamName } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { diffValues } from '../inspect/diff-values.js';
import { listSagas } from '../inspect/list-sagas.js';
import { encodeSagaState } from '../inspect/saga-state-codec.js';
import { describeTimeTravelFailure, loadStateAt } from '../inspect/state-at.js';
import type { SqlClient } from '../ports/sql.js';
import { SERVE_PAGE } from './page.js';

/** Options of {@link createServeApp}. */
export interface ServeAppOptions {
  readonly sql: SqlClient;
  /** Whom the page reads as: it shows only the sagas this actor may read. */
  readonly actor: Actor;
  /** Default: {@link tenantPolicy}. */
  readonly policy?: AuthorizationPolicy;
  readonly logger?: Logger;
}

type Reply = { readonly status: number; readonly body: unknown };

function send(response: ServerResponse, { status, body }: Reply): void {
  const html = typeof body === 'string';
  response.writeHead(status, {
    'content-type': html ? 'text/html; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
  });
  response.end(html ? body : JSON.stringify(body));
}

async function routeSaga(
  options: ServeAppOptions,
  rawId: string,
  rest: string,
  url: URL,
): Promise<Reply> {
  const sagaId = decodeURIComponent(rawId);
  if (!SagaId.is(sagaId)) return { status: 400, body: { error: 'bad saga id' } };
  const access = await authorizeSagaAccess(
    options.sql,
    sagaId,
    options.actor,
    'read',
    options.policy ?? tenantPolicy,
  );
  if (E.isLeft(access)) {
    const status = access.left._tag === 'AuthorizationFailure' ? 403 : 404;
    return { status, body: { error: access.left._tag } };
  }
  if (rest === 'timeline') {
    const events = await createPostgresEventStore({ sql: options.sql }).readStream(
      sagaStreamName(sagaId),
    );
    if (E.isLeft(events)) return { status: 500, body: { error: events.left._tag } };
    return { status: 200, body: buildTimeline(events.right) };
  }
  if (rest === 'state') {
    const at = url.searchParams.get('at') ?? '';
    if (!/^\d+$/.test(at)) return { status: 400, body: { error: 'at must be an event number' } };
    const after = await loadStateAt(options.sql, sagaId, BigInt(at));
    if (E.isLeft(after))
      return { status: 404, body: { error: describeTimeTravelFailure(after.left) } };
    const before = at === '0' ? undefined : await loadStateAt(options.sql, sagaId, BigInt(at) - 1n);
    const previous =
      before && E.isRight(before) ? encodeSagaState(before.right.state) : { status: 'initial' };
    const state = encodeSagaState(after.right.state);
    return { status: 200, body: { at, state, changes: diffValues(previous, state) } };
  }
  return { status: 404, body: { error: 'not found' } };
}

async function route(options: ServeAppOptions, request: IncomingMessage): Promise<Reply> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET') return { status: 405, body: { error: 'GET only' } };
  if (url.pathname === '/') return { status: 200, body: SERVE_PAGE };
  if (url.pathname === '/api/sagas') {
    const sagas = await listSagas(options.sql, options.actor, { limit: 500 });
    return {
      status: 200,
      body: sagas.map((saga) => ({
        sagaId: saga.saga_id,
        saga: `${saga.saga}@${saga.version}`,
        status: saga.status,
        events: Number(saga.last_revision) + 1,
        startedAt: saga.started_at,
      })),
    };
  }
  const match = /^\/api\/sagas\/([^/]+)\/(timeline|state)$/.exec(url.pathname);
  if (match?.[1] && match[2]) return routeSaga(options, match[1], match[2], url);
  return { status: 404, body: { error: 'not found' } };
}

/**
 * The web page of `rewind serve` on node:http: `/` the page, `/api/sagas` the sagas the actor
 * may read, `/api/sagas/<id>/timeline` its events, `/api/sagas/<id>/state?at=<n>` the state
 * after event n and its change from the event before. Read-only; listen on it yourself.
 */
export function createServeApp(options: ServeAppOptions): Server {
  return createServer((request, response) => {
    route(options, request).then(
      (reply) => send(response, reply),
      (error: unknown) => {
        options.logger?.error({ err: error }, 'serve request failed');
        send(response, { status: 500, body: { error: 'internal error' } });
      },
    );
  });
}
