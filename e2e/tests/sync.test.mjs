// Accounts and live sync between two browsers of the same user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startRelay, launch, device, open, shellCached, goTo, addTask, register, login,
  waitSynced, uniqueEmail,
} from '../lib/harness.mjs';

let relay, browser;
before(async () => { relay = await startRelay(); browser = await launch(); });
after(async () => { await browser?.close(); await relay?.stop(); });

async function taskVisible(page, title, timeout = 2000) {
  await goTo(page, 'Tasks');
  // Search looks through every list (a task added on Today is on Next, elsewhere in the Inbox).
  await page.getByLabel('Search tasks').fill(title);
  await page.getByRole('button', { name: `Edit ${title}` }).waitFor({ timeout });
}

test('register, create everything, reload: all persisted and synced', async () => {
  const { page, context } = await device(browser, relay.url);
  await open(page);
  await addTask(page, 'Made before signing in');
  await register(page, uniqueEmail('persist'));
  await waitSynced(page);
  await addTask(page, 'Made after signing in');
  await goTo(page, 'Habits');
  await page.getByRole('button', { name: 'New habit' }).click();
  await page.getByLabel('Name').fill('Read');
  await page.getByLabel('Measure a number each day').check();
  await page.getByLabel('Daily target').fill('20');
  await page.getByLabel('Unit').fill('pages');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Read' }).waitFor();
  await goTo(page, 'Today');
  await page.getByLabel('Read today, in pages').fill('25');
  await page.getByRole('button', { name: 'Log' }).click();
  await goTo(page, 'Finance');
  await page.locator('#e-amount').fill('3.20');
  await page.getByRole('button', { name: 'Add expense' }).click();
  await waitSynced(page);

  await page.reload();
  await page.waitForSelector('main#content');
  await taskVisible(page, 'Made before signing in');
  await taskVisible(page, 'Made after signing in');
  await goTo(page, 'Habits');
  await page.getByRole('heading', { name: 'Read' }).waitFor();
  await goTo(page, 'Finance');
  await page.getByText('3.20 EUR').first().waitFor();
  await waitSynced(page);

  // The relay's export holds what this browser synced.
  await goTo(page, 'Settings');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Relay export (JSON)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^lifeos-export-\d{4}-\d{2}-\d{2}\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(exported.tasks.map((t) => t.title).sort(), ['Made after signing in', 'Made before signing in']);
  assert.equal(exported.habits[0].name, 'Read');
  assert.equal(exported.checkins[0].value, 25);
  assert.equal(exported.expenses[0].amount, '3.20');
  const [zip] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Relay export (CSV zip)' }).click(),
  ]);
  assert.match(zip.suggestedFilename(), /\.zip$/);
  assert.equal(readFileSync(await zip.path()).subarray(0, 2).toString(), 'PK');
  await context.close();
});

test('two browsers of one user: live changes, offline edits, concurrent edits of one task', async () => {
  const email = uniqueEmail('two');
  const a = await device(browser, relay.url);
  const b = await device(browser, relay.url);
  await open(a.page);
  await shellCached(a.page);
  await register(a.page, email);
  await waitSynced(a.page);
  await open(b.page);
  await shellCached(b.page);
  await addTask(b.page, 'B had this before signing in');
  await login(b.page, email);
  await waitSynced(b.page);
  await taskVisible(a.page, 'B had this before signing in', 5000);

  // A change in one appears in the other within 2 s.
  await goTo(b.page, 'Tasks');
  const started = Date.now();
  await addTask(a.page, 'Live from A');
  await b.page.getByRole('button', { name: 'Edit Live from A' }).waitFor({ timeout: 2000 });
  const liveMs = Date.now() - started;
  console.log(`live change seen by the other browser after ${liveMs} ms`);

  // B goes offline, edits, reloads offline, comes back: A receives everything.
  await b.context.setOffline(true);
  await b.page.getByTestId('sync-status').filter({ hasText: 'Offline' }).waitFor({ timeout: 10000 });
  await addTask(b.page, 'Written offline on B');
  await goTo(b.page, 'Finance');
  await b.page.locator('#e-amount').fill('7,25');
  await b.page.getByRole('button', { name: 'Add expense' }).click();
  await b.page.reload();
  await b.page.waitForSelector('main#content');
  await taskVisible(b.page, 'Written offline on B');
  await b.context.setOffline(false);
  await waitSynced(b.page, 20000);
  await taskVisible(a.page, 'Written offline on B', 5000);
  await goTo(a.page, 'Finance');
  await a.page.getByText('7.25 EUR').first().waitFor({ timeout: 5000 });

  // Both offline, each edits a different field of the same task; both survive.
  await a.context.setOffline(true);
  await b.context.setOffline(true);
  await a.page.getByTestId('sync-status').filter({ hasText: 'Offline' }).waitFor({ timeout: 10000 });
  await b.page.getByTestId('sync-status').filter({ hasText: 'Offline' }).waitFor({ timeout: 10000 });
  await taskVisible(a.page, 'Live from A');
  await a.page.getByRole('button', { name: 'Edit Live from A' }).click();
  await a.page.getByLabel('Notes').fill('Notes written on A');
  await a.page.getByLabel('Notes').blur();
  await taskVisible(b.page, 'Live from A');
  await b.page.getByRole('button', { name: 'Edit Live from A' }).click();
  await b.page.getByLabel('Due').fill('2031-05-17');
  await b.page.getByLabel('Due').blur();
  await a.context.setOffline(false);
  await b.context.setOffline(false);
  await waitSynced(a.page, 20000);
  await waitSynced(b.page, 20000);
  for (const [name, p] of [['A', a.page], ['B', b.page]]) {
    try {
      await p.waitForFunction(() => document.querySelector('#t-notes')?.value === 'Notes written on A', null, { timeout: 10000 });
      await p.waitForFunction(() => document.querySelector('#t-due')?.value === '2031-05-17', null, { timeout: 10000 });
    } catch (e) {
      // Say what each browser shows, so that a rare failure can be understood from the CI log.
      for (const [n, q] of [['A', a.page], ['B', b.page]]) {
        const seen = await q.evaluate(() => ({
          status: document.querySelector('[data-testid="sync-status"]')?.textContent.trim(),
          notes: document.querySelector('#t-notes')?.value,
          due: document.querySelector('#t-due')?.value,
        }));
        console.log(`browser ${n}: ${JSON.stringify(seen)}`);
        await q.screenshot({ path: `artifacts/concurrent-${n}.png` }).catch(() => {});
      }
      throw new Error(`browser ${name} did not converge: ${e.message}`);
    }
  }

  // Notes being typed on A survive a change from B arriving meanwhile, which
  // re-renders A's editor (yew puts a field's rendered value back over the
  // page's unless the field keeps what is typed), and are saved on blur.
  await a.page.locator('#t-notes').fill('Typed on A while B renames');
  await b.page.locator('#t-title').fill('Renamed on B');
  await b.page.locator('#t-title').blur();
  await a.page.locator('aside[aria-label="Task: Renamed on B"]').waitFor({ timeout: 10000 });
  assert.equal(await a.page.locator('#t-notes').inputValue(), 'Typed on A while B renames');
  await a.page.locator('#t-notes').blur();
  await b.page.waitForFunction(() => document.querySelector('#t-notes')?.value === 'Typed on A while B renames', null, { timeout: 10000 });
  assert.deepEqual(a.errors.filter((e) => !/net::|Failed to fetch|WebSocket/.test(e)), []);
  await a.context.close();
  await b.context.close();
});

test('the unsynced count is exactly the edits the relay lacks, through offline flips and a reload', async () => {
  const { page, context } = await device(browser, relay.url);
  const badge = async () => (await page.getByTestId('sync-status').textContent()).trim();
  const offline = async (on) => {
    await context.setOffline(on);
    if (on) await page.getByTestId('sync-status').filter({ hasText: 'Offline' }).waitFor({ timeout: 10000 });
    else await waitSynced(page, 20000);
  };
  await open(page);
  await addTask(page, 'Made before signing in');
  await register(page, uniqueEmail('count'));
  await waitSynced(page);

  // Synced, then offline at once: nothing waits.
  await offline(true);
  assert.equal(await badge(), 'Offline');
  // Three edits offline: three waiting, on the badge and in Settings, after a reload too.
  await goTo(page, 'Today');
  for (const line of ['Offline one', 'Offline two', 'Offline three']) await addTask(page, line);
  assert.equal(await badge(), 'Offline · 3 not synced');
  await page.reload();
  await page.waitForSelector('main#content');
  await page.getByTestId('sync-status').filter({ hasText: 'Offline · 3 not synced' }).waitFor({ timeout: 5000 });
  await goTo(page, 'Settings');
  assert.equal((await page.getByTestId('unconfirmed').textContent()).trim(), '3');

  // Back online, the relay confirms them; offline again, none wait.
  await offline(false);
  assert.equal((await page.getByTestId('unconfirmed').textContent()).trim(), '0');
  await offline(true);
  assert.equal(await badge(), 'Offline');
  await goTo(page, 'Today');
  await addTask(page, 'One more offline');
  assert.equal(await badge(), 'Offline · 1 not synced');
  await offline(false);
  await context.close();
});

// The same habit, task and category made on two browsers before the second
// signs in: everything is kept, the likely duplicates are offered on Today,
// and merging them reaches the first browser.
test('signing in with local data offers what is alike for merging, and the merge syncs', async () => {
  const email = uniqueEmail('dupes');
  const a = await device(browser, relay.url);
  const b = await device(browser, relay.url);
  const prepare = async (page, category) => {
    await open(page);
    await goTo(page, 'Habits');
    await page.getByRole('button', { name: 'New habit' }).click();
    await page.getByLabel('Name').fill('Meditate');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Meditate' }).waitFor();
    await goTo(page, 'Finance');
    await page.getByLabel('New category').fill(category);
    await page.getByLabel('New category').press('Enter');
    await page.getByText(`Added the category “${category}”.`).waitFor();
    await addTask(page, 'Plan the trip');
  };
  await prepare(a.page, 'Transport');
  await register(a.page, email);
  await waitSynced(a.page);
  await prepare(b.page, 'transport');
  await goTo(b.page, 'Today');
  await b.page.getByRole('button', { name: 'Check in Meditate' }).click();
  await b.page.getByRole('button', { name: "Undo today's check-in of Meditate" }).waitFor();
  // Before signing in, nothing is alike.
  assert.equal(await b.page.getByRole('region', { name: 'Possible duplicates' }).count(), 0);

  await login(b.page, email);
  await waitSynced(b.page);
  await goTo(b.page, 'Today');
  const card = b.page.getByRole('region', { name: 'Possible duplicates' });
  await card.waitFor({ timeout: 10000 });
  const offered = (await card.locator('li.duplicate strong').allTextContents()).sort();
  assert.deepEqual(offered, ['Category “Transport”', 'Habit “Meditate”', 'Task “Plan the trip”']);
  // Kept, not dropped: both tasks are on Today until merged.
  assert.equal(await b.page.getByRole('checkbox', { name: 'Complete Plan the trip' }).count(), 2);

  await card.getByRole('button', { name: 'Merge Habit “Meditate”' }).click();
  await b.page.getByText('Merged: habit “Meditate” is now one.').waitFor();
  await card.getByRole('button', { name: 'Merge Task “Plan the trip”' }).click();
  await card.getByRole('button', { name: 'Keep Category “Transport” apart' }).click();
  await card.waitFor({ state: 'detached' });
  assert.equal(await b.page.getByRole('checkbox', { name: 'Complete Plan the trip' }).count(), 1);
  // The merged habit keeps the check-in made on this browser.
  await b.page.getByRole('button', { name: "Undo today's check-in of Meditate" }).waitFor();
  await waitSynced(b.page);

  // The first browser gets the merge as ordinary changes.
  await goTo(a.page, 'Habits');
  await a.page.waitForFunction(
    () => [...document.querySelectorAll('h2, h3')].filter((h) => h.textContent.trim() === 'Meditate').length === 1,
    null,
    { timeout: 10000 },
  );
  await goTo(a.page, 'Today');
  await a.page.getByRole('button', { name: "Undo today's check-in of Meditate" }).waitFor({ timeout: 10000 });
  assert.equal(await a.page.getByRole('checkbox', { name: 'Complete Plan the trip' }).count(), 1);
  assert.equal(await a.page.getByRole('region', { name: 'Possible duplicates' }).count(), 0);
  await a.context.close();
  await b.context.close();
});
