// Local first: no account, no network. Everything a new user makes survives
// reloads, also with the network off (the service worker serves the shell).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, launch, device, open, shellCached, goTo, addTask } from '../lib/harness.mjs';

let relay, browser;
before(async () => { relay = await startRelay(); browser = await launch(); });
after(async () => { await browser?.close(); await relay?.stop(); });

test('a new user uses the app without an account and reloads offline', async () => {
  const { context, page, errors } = await device(browser, relay.url);
  await open(page);
  await shellCached(page);
  assert.equal((await page.getByTestId('sync-status').textContent()).trim(), 'On this device');

  await addTask(page, 'Water the plants today @home');
  await page.getByText('Water the plants').first().waitFor();

  await goTo(page, 'Habits');
  await page.getByRole('button', { name: 'New habit' }).click();
  await page.getByLabel('Name').fill('Stretch');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Stretch' }).waitFor();

  await goTo(page, 'Today');
  await page.getByRole('button', { name: 'Check in Stretch' }).click();
  await page.getByRole('button', { name: "Undo today's check-in of Stretch" }).waitFor();

  await goTo(page, 'Finance');
  await page.locator('#e-amount').fill('12,50');
  await page.locator('#e-payee').fill('Bakery');
  await page.getByRole('button', { name: 'Add expense' }).click();
  await page.getByText('Added 12.50 EUR.').waitFor();

  // Bad input is explained, nothing is added.
  await page.locator('#e-amount').fill('twelve');
  await page.getByRole('button', { name: 'Add expense' }).click();
  await page.locator('.expense-form .error').waitFor();
  assert.match(await page.locator('.expense-form .error').textContent(), /Amount/);

  for (const offline of [false, true]) {
    await context.setOffline(offline);
    await page.reload();
    await page.waitForSelector('main#content');
    await goTo(page, 'Today');
    await page.getByText('Water the plants').first().waitFor();
    await page.getByRole('button', { name: "Undo today's check-in of Stretch" }).waitFor();
    assert.match(await page.getByTestId('spent-today').textContent(), /12\.50 EUR/);
  }
  // Deep links load offline too.
  await page.goto('/finance');
  await page.getByText('Bakery').first().waitFor();
  await context.setOffline(false);
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|net::/.test(e)), []);
  await context.close();
});
