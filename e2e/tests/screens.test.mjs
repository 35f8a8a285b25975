// Every main screen with realistic data, at desktop and phone width: each
// is screenshotted (e2e/artifacts/), every form control has an accessible
// name, and the keyboard reaches the quick add.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startRelay, launch, device, open, goTo, addTask, repo } from '../lib/harness.mjs';

const artifacts = join(repo, 'e2e/artifacts');
let relay, browser;
before(async () => { relay = await startRelay(); browser = await launch(); mkdirSync(artifacts, { recursive: true }); });
after(async () => { await browser?.close(); await relay?.stop(); });

function isoDaysAgo(n) {
  const d = new Date();
  d.setDate(d.getDate() - n);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

async function seed(page) {
  for (const line of [
    'Call mom tomorrow #family @phone',
    `Renew passport ${isoDaysAgo(2)} #admin p1`,
    'Plan the garden start:today #home +next',
    'Book dentist today @phone p3',
    'File the tax return friday #admin p2',
    'Read the RFC on sync protocols +someday @computer',
    'Buy a birthday present for Sam in 3 days #family !',
  ]) await addTask(page, line);
  await goTo(page, 'Habits');
  for (const [name, numeric] of [['Meditate', false], ['Read', true], ['Run', false]]) {
    await page.getByRole('button', { name: 'New habit' }).click();
    await page.getByLabel('Name').fill(name);
    if (numeric) {
      await page.getByLabel('Measure a number each day').check();
      await page.getByLabel('Daily target').fill('20');
      await page.getByLabel('Unit').fill('pages');
    }
    if (name === 'Run') {
      await page.getByLabel('How often').selectOption('week');
      await page.getByLabel('Times per week').fill('3');
    }
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name }).waitFor();
  }
  // A few weeks of history for the heatmap and streaks.
  const card = page.locator('.habit-card', { has: page.getByRole('heading', { name: 'Meditate' }) });
  for (let i = 1; i <= 20; i++) {
    if (i % 6 === 0) continue;
    await card.getByLabel('Day', { exact: true }).fill(isoDaysAgo(i));
    await card.getByRole('button', { name: '✓ Done' }).click();
  }
  await goTo(page, 'Finance');
  for (const c of ['Groceries', 'Transport', 'Eating out']) {
    await page.getByLabel('New category').fill(c);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel(c, { exact: true }).waitFor();
  }
  await page.getByLabel('Groceries', { exact: true }).fill('300');
  await page.getByLabel('Groceries', { exact: true }).blur();
  await page.getByLabel('Transport', { exact: true }).fill('80');
  await page.getByLabel('Transport', { exact: true }).blur();
  for (const [amount, cat, payee, cur] of [
    ['64,30', 'Groceries', 'Market', 'EUR'], ['12.50', 'Eating out', 'Pizzeria', 'EUR'],
    ['95', 'Transport', 'Rail pass', 'EUR'], ['23.10', 'Groceries', 'Bakery', 'EUR'], ['18.00', 'Eating out', 'Lunch in London', 'GBP'],
  ]) {
    await page.locator('#e-amount').fill(amount);
    await page.locator('#e-currency').fill(cur);
    await page.locator('#e-category').selectOption({ label: cat });
    await page.locator('#e-payee').fill(payee);
    await page.getByRole('button', { name: 'Add expense' }).click();
    await page.locator('.expense-form .error').waitFor({ state: 'detached', timeout: 2000 }).catch(() => {});
  }
}

async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => {
      const name = el.getAttribute('aria-label') || (el.labels && el.labels.length) || el.getAttribute('aria-labelledby')
        || (el.tagName === 'BUTTON' && el.textContent.trim());
      return !name;
    })
    .map((el) => el.outerHTML.slice(0, 120)));
}

test('every screen, desktop and phone: screenshots and accessible names', async () => {
  const { page, context, errors } = await device(browser, relay.url);
  await open(page);
  await seed(page);
  // A constructed style sheet: the app's Content-Security-Policy refuses
  // an injected <style> element (which addStyleTag would add).
  await page.evaluate(() => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync('.toasts { display: none !important; }');
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  });
  const screens = ['Today', 'Tasks', 'Matrix', 'Habits', 'Finance', 'Settings'];
  for (const [label, size] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(size);
    for (const name of screens) {
      await goTo(page, name);
      if (name === 'Tasks' && label === 'desktop') {
        await page.getByRole('button', { name: 'Edit Call mom' }).click();
      }
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(100);
      assert.deepEqual(await unlabelled(page), [], `${name} has controls without a name`);
      assert.equal(await page.locator('main').count(), 1, `${name}: one main landmark`);
      await page.screenshot({ path: join(artifacts, `${label}-${name.toLowerCase()}.png`), fullPage: label === 'desktop' });
    }
  }
  // Keyboard: skip link, then the quick add is reachable and works with Enter.
  await page.setViewportSize({ width: 1280, height: 900 });
  await goTo(page, 'Today');
  await page.getByRole('textbox', { name: 'Add a task' }).focus();
  await page.keyboard.type('Typed with the keyboard only');
  await page.keyboard.press('Enter');
  await page.locator('.today .task-line', { hasText: 'Typed with the keyboard only' }).waitFor({ timeout: 2000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('quick add: on Today a task is planned for today, and every add says where it went', async () => {
  const { page, context, errors } = await device(browser, relay.url);
  await open(page);
  await goTo(page, 'Today');
  const onToday = (title) => page.locator('.today .task-line', { hasText: title });
  const toast = (text) => page.locator('.toasts .toast', { hasText: text });

  // No date: planned for today, so it stays on the screen, and a toast says so.
  await addTask(page, 'Buy oat milk @errands');
  await onToday('Buy oat milk').waitFor({ timeout: 2000 });
  await toast('Added “Buy oat milk” for today.').waitFor({ timeout: 2000 });

  // A time of day: the preview shows it, the task is today's at that time,
  // before the untimed ones.
  await page.getByRole('textbox', { name: 'Add a task' }).fill('Call the dentist at 3:30pm');
  await page.locator('.hint', { hasText: '“Call the dentist”' }).filter({ hasText: ' · at 15:30' }).waitFor({ timeout: 2000 });
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await toast('Added “Call the dentist” for today at 15:30.').waitFor({ timeout: 2000 });
  await onToday('Call the dentist').locator('.time', { hasText: '15:30' }).waitFor({ timeout: 2000 });

  // What the line says wins; the toast names where the task went instead.
  await addTask(page, 'Renew the car insurance in 3 days');
  await toast('Added “Renew the car insurance” to Inbox · due').waitFor({ timeout: 2000 });
  assert.equal(await onToday('Renew the car insurance').count(), 0);
  await addTask(page, 'Learn the cello +someday');
  await toast('Added “Learn the cello” to Someday.').waitFor({ timeout: 2000 });
  assert.equal(await onToday('Learn the cello').count(), 0);

  // Anywhere else a task is added as written, into the inbox, and says so.
  await goTo(page, 'Tasks');
  await addTask(page, 'Sort the photos');
  await toast('Added “Sort the photos” to Inbox.').waitFor({ timeout: 2000 });
  await goTo(page, 'Today');
  assert.equal(await onToday('Sort the photos').count(), 0);

  // Other adds answer too: a habit, a category.
  await goTo(page, 'Habits');
  await page.getByRole('button', { name: 'New habit' }).click();
  await page.getByLabel('Name').fill('Stretch');
  await page.getByRole('button', { name: 'Save' }).click();
  await toast('Added the habit “Stretch”.').waitFor({ timeout: 2000 });
  await goTo(page, 'Finance');
  await page.getByLabel('New category').fill('Books');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await toast('Added the category “Books”.').waitFor({ timeout: 2000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test('on a phone, the main action of every screen is in view and works: add, edit, check in, add an expense', async () => {
  const height = 844;
  const { page, context, errors } = await device(browser, relay.url, { width: 390, height });
  const inView = async (locator, what) => {
    const box = await locator.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= height, `${what} is on the screen: ${JSON.stringify(box)}`);
  };
  await open(page);
  await addTask(page, 'Phone task p1');
  await page.locator('.today .task-line', { hasText: 'Phone task' }).waitFor();

  // Editing opens a sheet over the screen with the title field in view.
  await goTo(page, 'Tasks');
  await page.getByLabel('Search tasks').fill('Phone task');
  await page.getByRole('button', { name: 'Edit Phone task' }).click();
  const title = page.locator('#t-title');
  await title.waitFor();
  await inView(title, 'the task editor');
  await title.fill('Phone task renamed');
  await title.press('Tab');
  await page.getByRole('button', { name: 'Close the task editor' }).click();
  const row = page.getByRole('button', { name: 'Edit Phone task renamed' });
  await row.waitFor();
  assert.equal(await row.locator('.prio').textContent(), 'p1', 'the list shows the priority');

  // The matrix opens a task too.
  await goTo(page, 'Matrix');
  await page.getByRole('button', { name: 'Edit Phone task renamed' }).click();
  await inView(page.locator('#t-title'), 'the editor opened from the matrix');
  await page.getByRole('button', { name: 'Close the task editor' }).click();

  // A habit, checked in on Today.
  await goTo(page, 'Habits');
  await page.getByRole('button', { name: 'New habit' }).click();
  await inView(page.getByLabel('Name'), 'the habit form');
  await page.getByLabel('Name').fill('Walk');
  await page.getByRole('button', { name: 'Save' }).click();
  await goTo(page, 'Today');
  const check = page.getByRole('button', { name: 'Check in Walk' });
  await check.scrollIntoViewIfNeeded();
  await check.click();
  await page.getByRole('button', { name: "Undo today's check-in of Walk" }).waitFor();

  // An expense.
  await goTo(page, 'Finance');
  await inView(page.locator('#e-amount'), 'the amount field');
  await page.locator('#e-amount').fill('4.20');
  await page.locator('#e-currency').fill('EUR');
  await page.getByRole('button', { name: 'Add expense' }).click();
  await page.locator('.toasts .toast', { hasText: 'Added 4.20 EUR.' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});
