// The offline shell's update flow: a new build's service worker installs in
// the background and waits; the app says a new version is ready and reloads
// into it when the user accepts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, cpSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRelay, launch, device, open, shellCached, addTask, repo } from '../lib/harness.mjs';

let relay, browser;
before(async () => { relay = await startRelay(); browser = await launch(); });
after(async () => { await browser?.close(); await relay?.stop(); });

test('a new version is announced and applied when the user accepts', async () => {
  const { context, page, errors } = await device(browser, relay.url);
  await open(page);
  await shellCached(page);
  await addTask(page, 'Written before the update today');

  // A new build: the same app with another service worker version, served
  // by a relay restarted on the same address.
  const next = mkdtempSync(join(tmpdir(), 'lifeos-next-'));
  cpSync(join(repo, 'web/dist'), next, { recursive: true });
  const sw = readFileSync(join(next, 'sw.js'), 'utf8').replace(/const VERSION = '([^']*)'/, "const VERSION = '$1-next'");
  writeFileSync(join(next, 'sw.js'), sw);
  // The build's compressed copies are of the old file: drop them (the
  // relay serves a copy when the browser accepts its encoding).
  for (const ext of ['br', 'gz']) rmSync(join(next, `sw.js.${ext}`), { force: true });
  const address = relay.url.replace('http://', '');
  await relay.stop();
  relay = await startRelay({ LIFEOS_BIND: address, LIFEOS_WEB_DIR: next });
  assert.equal(relay.url, 'http://' + address);

  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  const banner = page.getByRole('status').filter({ hasText: 'A new version of LifeOS is ready.' });
  await banner.waitFor({ timeout: 15000 });
  const version = () => page.evaluate(async () => {
    const keys = await caches.keys();
    return keys.filter((k) => k.startsWith('lifeos-shell-')).sort();
  });
  assert.equal((await version()).length, 2, 'the new build is cached next to the old one');

  await Promise.all([
    page.waitForEvent('load'),
    page.getByRole('button', { name: 'Reload to update' }).click(),
  ]);
  await page.waitForSelector('main#content');
  await page.getByText('Written before the update').first().waitFor();
  assert.equal(await banner.count(), 0);
  await page.waitForFunction(async () => {
    const keys = (await caches.keys()).filter((k) => k.startsWith('lifeos-shell-'));
    return keys.length === 1 && keys[0].endsWith('-next');
  }, null, { timeout: 10000 });
  assert.deepEqual(errors, []);
  await context.close();
  rmSync(next, { recursive: true, force: true });
});
