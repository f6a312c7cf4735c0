import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SagaId } from '../../src/core/ids.js';
import { createServeApp } from '../../src/serve/serve-app.js';
import { ACME_USER, GLOBEX_USER, seedOrderSaga } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/sql.js';

const CHROMIUM = '/usr/bin/chromium';

let db: TestDatabase;
let browser: BrowserContext;
let profile: string;
let sagaId: SagaId;
let globexSaga: SagaId;
const servers: ReturnType<typeof createServeApp>[] = [];

async function serveAs(actor: { id: string; tenant: string }): Promise<string> {
  const server = createServeApp({ sql: db.sql, actor });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  return `http://127.0.0.1:${address.port}/`;
}

beforeAll(async () => {
  db = await createTestDatabase();
  sagaId = await seedOrderSaga(db.sql, 'compensated', ACME_USER);
  globexSaga = await seedOrderSaga(db.sql, 'running', GLOBEX_USER);
  profile = mkdtempSync(join(tmpdir(), 'rewind-chromium-'));
  // A fresh profile folder per run, so no state of an earlier run leaks in.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(profile, { recursive: true, force: true });
  await db.drop();
});

describe('rewind serve', () => {
  it('lists sagas, shows a timeline, and slides through the state at each event', async () => {
    const url = await serveAs({ id: 'olga', tenant: 'acme' });
    const page = await browser.newPage();
    await page.goto(url);

    const row = page.locator(`#saga-rows tr[data-saga-id="${sagaId}"]`);
    await row.click();
    await expect.poll(() => page.locator('#timeline tr').count()).toBe(11);
    await page.waitForSelector('body[data-shown-at="10"]');
    expect(await page.textContent('#status')).toBe('compensated');

    await page.locator('#slider').fill('4');
    await page.waitForSelector('body[data-shown-at="4"]');
    expect(await page.textContent('#status')).toBe('running');
    expect(await page.textContent('#event')).toBe('StepCompleted charge');
    const atFour = await page.locator('#changes li').allTextContents();
    expect(atFour).toContain('changed steps.charge.status: "running" -> "completed"');

    await page.locator('#slider').fill('7');
    await page.waitForSelector('body[data-shown-at="7"]');
    expect(await page.textContent('#status')).toBe('compensating');
    const atSeven = await page.locator('#changes li').allTextContents();
    expect(atSeven).toContain('changed status: "running" -> "compensating"');
    expect(await page.locator('#timeline tr.current td').first().textContent()).toBe('7');
    await page.close();
  });

  it("shows an actor only its own tenant's sagas and refuses the others", async () => {
    const url = await serveAs({ id: 'gus', tenant: 'globex' });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector(`#saga-rows tr[data-saga-id="${globexSaga}"]`);
    expect(await page.locator('#saga-rows tr').count()).toBe(1);
    const refused = await page.evaluate(
      async (id) => (await fetch(`/api/sagas/${id}/state?at=1`)).status,
      sagaId,
    );
    expect(refused).toBe(403);
    await page.close();
  });
});
