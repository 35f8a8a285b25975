// Browser benchmark: a heavy user's data (10,000 tasks, 50,000 expenses, 10
// habits with a year of check-ins) in IndexedDB, then
//  - Today interactive: navigation start to the first render with data (median of 5 loads);
//  - adding a task: submit to the new row in the DOM (median and worst of 20);
//  - the gzipped size of the wasm.
// Run: `cd e2e && npm run bench` after `web/build.sh` (docs/benchmarks.md).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startRelay, launch, repo } from './lib/harness.mjs';

const today = (() => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
})();
const seedDir = join(repo, 'target/heavy-user-' + today);
if (!existsSync(join(seedDir, 'meta.json'))) {
  console.log('building the heavy user (cargo run --release --example heavy_user)…');
  execFileSync('cargo', ['run', '--release', '--locked', '-p', 'lifeos-client-wasm', '--example', 'heavy_user', '--', seedDir, today],
    { cwd: repo, stdio: 'inherit' });
}
const meta = readFileSync(join(seedDir, 'meta.json'), 'utf8');
const snapshots = readdirSync(seedDir).filter((f) => f.endsWith('.bin'))
  .map((f) => [f.slice(0, -4), readFileSync(join(seedDir, f)).toString('base64')]);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const relay = await startRelay();
const browser = await launch();
try {
  const context = await browser.newContext({ baseURL: relay.url, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.error('page:', m.text().slice(0, 500)); });
  page.on('crash', () => console.error('page crashed'));
  page.on('pageerror', (e) => console.error('page error:', String(e).slice(0, 500)));
  await page.goto('/');
  await page.waitForSelector('main#content');
  // Replace this browser's storage with the heavy user's records.
  await page.evaluate(async ({ meta, snapshots }) => {
    const db = await new Promise((ok, err) => { const r = indexedDB.open('lifeos', 1); r.onsuccess = () => ok(r.result); r.onerror = () => err(r.error); });
    const tx = db.transaction(['snapshots', 'chunks', 'meta'], 'readwrite');
    tx.objectStore('snapshots').clear();
    tx.objectStore('chunks').clear();
    for (const [id, b64] of snapshots) {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      tx.objectStore('snapshots').put(bytes, id);
    }
    tx.objectStore('meta').put(meta, 'state');
    await new Promise((ok, err) => { tx.oncomplete = ok; tx.onerror = () => err(tx.error); });
    db.close();
  }, { meta, snapshots });

  const loads = [];
  for (let i = 0; i < 6; i++) {
    await page.goto('/');
    await page.waitForFunction(() => performance.getEntriesByName('lifeos-ready').length > 0, null, { timeout: 60000 });
    await page.getByRole('textbox', { name: 'Add a task' }).waitFor();
    const ms = await page.evaluate(() => performance.getEntriesByName('lifeos-ready')[0].startTime);
    if (i > 0) loads.push(ms); // the first load also compiles the wasm into the cache
  }
  const tasks = await page.evaluate(() => document.querySelectorAll('.task-line').length);
  // Older months load in the background after the first screen.
  await page.waitForFunction(() => performance.getEntriesByName('lifeos-all-loaded').length > 0, null, { timeout: 60000 });
  const allLoaded = await page.evaluate(() => performance.getEntriesByName('lifeos-all-loaded')[0].startTime);

  const adds = [];
  for (let i = 0; i < 20; i++) {
    const title = `Bench task ${i}`;
    await page.getByRole('textbox', { name: 'Add a task' }).fill(`${title} today`);
    adds.push(await page.evaluate((title) => new Promise((done) => {
      // Done when the "Due today" section shows one task more (the list
      // itself shows its first rows only).
      const count = () => document.querySelector('section.due .count')?.textContent;
      const before = count();
      const form = document.querySelector('form.quick-add');
      const observer = new MutationObserver(() => {
        if (count() !== before) {
          observer.disconnect();
          done(performance.now() - t0);
        }
      });
      observer.observe(document.body, { childList: true, subtree: true, characterData: true });
      const t0 = performance.now();
      form.requestSubmit();
    }), title));
  }
  const wasm = readdirSync(join(repo, 'web/dist')).find((f) => f.endsWith('.wasm'));
  const bytes = readFileSync(join(repo, 'web/dist', wasm));
  const result = {
    today_interactive_ms: { median: Math.round(median(loads)), all: loads.map(Math.round) },
    add_task_render_ms: { median: +median(adds).toFixed(1), worst: +Math.max(...adds).toFixed(1) },
    wasm_kb: { raw: Math.round(bytes.length / 1024), gzip: Math.round(gzipSync(bytes, { level: 9 }).length / 1024) },
    all_months_loaded_ms: Math.round(allLoaded),
    today_rows_rendered: tasks,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await relay.stop();
}
