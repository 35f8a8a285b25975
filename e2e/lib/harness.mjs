// Starts the real relay (SQLite, a fresh data directory, port 0) serving the
// built web app, and headless Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');

export async function startRelay(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lifeos-e2e-'));
  const outbox = join(dir, 'outbox');
  mkdirSync(outbox);
  const bin = process.env.LIFEOS_RELAY_BIN || join(repo, 'target/debug/lifeos-relay');
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      LIFEOS_BIND: '127.0.0.1:0',
      LIFEOS_DATA_DIR: dir,
      LIFEOS_WEB_DIR: join(repo, 'web/dist'),
      LIFEOS_MAIL_OUTBOX_DIR: outbox,
      LIFEOS_LOG_FORMAT: 'json',
      RUST_LOG: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('relay did not start:\n' + log)), 30000);
    const onData = (chunk) => {
      log += chunk;
      const m = log.match(/"address":"(127\.0\.0\.1:\d+)"[^\n]*lifeos-relay listening|lifeos-relay listening[^\n]*"address":"(127\.0\.0\.1:\d+)"/);
      if (m) {
        clearTimeout(timer);
        resolveUrl('http://' + (m[1] || m[2]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`relay exited with ${code}:\n${log}`)));
  });
  return {
    url,
    outbox,
    log: () => log,
    resetToken() {
      for (const f of readdirSync(outbox)) {
        const m = readFileSync(join(outbox, f), 'utf8').match(/^Reset token: (\S+)/m);
        if (m) return m[1];
      }
      return null;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

// A browser context (one "device") with its console errors collected, and
// every Content-Security-Policy violation its pages report
// (`await cspViolations()`: what was blocked, by which directive).
// `options` go to the context as well (`userAgent`, to tell devices apart).
export async function device(browser, baseURL, viewport = { width: 1280, height: 860 }, options = {}) {
  const context = await browser.newContext({ ...options, baseURL, viewport });
  // Collected here rather than in the page, so reloads lose none.
  const violations = [];
  await context.exposeBinding('__lifeosCspViolation', (_source, v) => { violations.push(v); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__lifeosCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  // Reports are events: give the last ones a moment to arrive.
  const cspViolations = async () => { await page.waitForTimeout(100); return [...violations]; };
  return { context, page, errors, cspViolations };
}

// Opens the app and waits until it has rendered from local storage.
export async function open(page, path = '/') {
  await page.goto(path);
  await page.waitForSelector('main#content', { timeout: 20000 });
}

// Waits until the service worker controls the page (the shell is cached).
export async function shellCached(page) {
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
}

export async function goTo(page, name) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.waitForSelector(`main#content[aria-label="${name}"]`);
}

// Adds a task with the quick add of the screen shown (Today's when the
// screen has none), and waits for the app to say where it went.
export async function addTask(page, line) {
  const field = page.getByRole('textbox', { name: 'Add a task' });
  if (!(await field.count())) await goTo(page, 'Today');
  await field.fill(line);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.waitForFunction(() => document.querySelector('#quick-add')?.value === '', null, { timeout: 5000 });
}

// The toasts shown now.
export async function toasts(page) {
  return page.locator('.toasts .toast').allTextContents();
}

export async function syncStatus(page) {
  return (await page.getByTestId('sync-status').textContent()).trim();
}

export async function waitSynced(page, timeout = 15000) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="sync-status"]')?.textContent.trim() === 'Synced',
    null,
    { timeout },
  );
}

export async function register(page, email, password = 'correct horse battery') {
  await goTo(page, 'Settings');
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('account-email').waitFor({ timeout: 15000 });
}

export async function login(page, email, password = 'correct horse battery') {
  await goTo(page, 'Settings');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('account-email').waitFor({ timeout: 15000 });
}

export function uniqueEmail(tag) {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}
