// A relay that ends the session (logout everywhere, from another device)
// pauses sync with a clear message; the app keeps working on local data, and
// signing in again resumes sync with nothing lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, launch, device, open, addTask, register, login, waitSynced, goTo, uniqueEmail } from '../lib/harness.mjs';

let relay, browser;
before(async () => { relay = await startRelay(); browser = await launch(); });
after(async () => { await browser?.close(); await relay?.stop(); });

test('an ended session never blocks local use', async () => {
  const email = uniqueEmail('ended');
  const password = 'correct horse battery';
  const { page, context } = await device(browser, relay.url);
  await open(page);
  await register(page, email, password);
  await waitSynced(page);

  // Another device signs out everywhere.
  const res = await fetch(`${relay.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }),
  });
  const { access_token } = await res.json();
  const out = await fetch(`${relay.url}/api/v1/auth/logout-all`, { method: 'POST', headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(out.status, 204);

  await page.getByText('Your session ended, so sync is paused.').waitFor({ timeout: 10000 });
  await addTask(page, 'Still works after the session ended today');
  await page.getByText('Still works after the session ended').first().waitFor();
  await page.reload();
  await page.waitForSelector('main#content');
  await page.getByText('Still works after the session ended').first().waitFor();

  // Signing in again syncs what was made meanwhile.
  await page.getByRole('link', { name: 'Sign in again' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('account-email').waitFor({ timeout: 15000 });
  await waitSynced(page, 20000);

  const other = await device(browser, relay.url);
  await open(other.page);
  await login(other.page, email, password);
  await waitSynced(other.page, 20000);
  await goTo(other.page, 'Today');
  await other.page.getByText('Still works after the session ended').first().waitFor({ timeout: 5000 });
  await other.context.close();
  await context.close();
});
