// Two-step sign-in and signed-in devices (issue 18), as a user does them in
// Settings: turn it on from the QR code's key, keep the recovery codes,
// sign in on a second browser with a code and on a third with a recovery
// code, sign the third out from the first, and turn it off again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRelay, launch, device, open, register, login, waitSynced, goTo, uniqueEmail, repo } from '../lib/harness.mjs';

const artifacts = join(repo, 'e2e/artifacts');
mkdirSync(artifacts, { recursive: true });

let relay, browser;
before(async () => { relay = await startRelay(); browser = await launch(); });
after(async () => { await browser?.close(); await relay?.stop(); });

const PASSWORD = 'correct horse battery';

// RFC 4648 base32, as authenticator apps read the key.
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const digit = alphabet.indexOf(c);
    assert.ok(digit >= 0, `${c} is not base32`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

// RFC 6238 with the app's parameters (SHA-1, 30 s, 6 digits), `offset` steps from now.
function totp(secret, offset = 0) {
  const step = Math.floor(Date.now() / 30000) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const at = mac[19] & 0xf;
  const number = ((mac[at] & 0x7f) << 24) | (mac[at + 1] << 16) | (mac[at + 2] << 8) | mac[at + 3];
  return String(number % 1e6).padStart(6, '0');
}

// Not near the end of a step, so the codes below stay inside the relay's window.
async function awayFromStepEnd() {
  const into = (Date.now() / 1000) % 30;
  if (into > 18) await new Promise((r) => setTimeout(r, (31 - into) * 1000));
}

// Email and password on the sign-in form; the second step follows.
async function firstStep(page, email) {
  await open(page);
  await goTo(page, 'Settings');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor({ timeout: 10000 });
}

// A refused code shows as a failed request in the console; nothing else may.
const unexpected = (errors) => errors.filter((e) => !/Failed to load resource: the server responded with a status of 401/.test(e));

test('two-step sign-in: on with a QR code, in with a code and a recovery code, a device signed out, off again', async () => {
  const email = uniqueEmail('mfa');
  const a = await device(browser, relay.url);
  await open(a.page);
  await register(a.page, email, PASSWORD);
  await waitSynced(a.page);

  // Turning it on shows a QR code (an image the policy allows) and its key.
  await a.page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  const qr = a.page.getByTestId('totp-qr');
  await qr.waitFor();
  await a.page.waitForFunction(() => document.querySelector('[data-testid="totp-qr"]')?.naturalWidth > 0);
  await a.page.screenshot({ path: join(artifacts, 'desktop-settings-enrol.png'), fullPage: true });
  const secret = base32(await a.page.getByTestId('totp-secret').textContent());
  assert.equal(secret.length, 20, 'a 160-bit secret');
  await awayFromStepEnd();

  // A wrong first code is refused in words; the right one turns it on.
  const right = new Set([-1, 0, 1].map((o) => totp(secret, o)));
  const wrong = ['000000', '111111', '222222', '333333'].find((c) => !right.has(c));
  await a.page.getByLabel('Code from your authenticator app').fill(wrong);
  await a.page.getByRole('button', { name: 'Turn on', exact: true }).click();
  await a.page.locator('#security-error', { hasText: 'The code is not right.' }).waitFor();
  await a.page.getByLabel('Code from your authenticator app').fill(totp(secret, -1));
  await a.page.getByRole('button', { name: 'Turn on', exact: true }).click();

  // Ten recovery codes, shown once, to download.
  const list = a.page.getByTestId('recovery-codes');
  await list.waitFor();
  const codes = (await list.locator('li').allTextContents()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const c of codes) assert.match(c, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
  const [download] = await Promise.all([
    a.page.waitForEvent('download'),
    a.page.getByRole('button', { name: 'Download codes' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'lifeos-recovery-codes.txt');
  const saved = readFileSync(await download.path(), 'utf8');
  for (const c of codes) assert.ok(saved.includes(c), `${c} is in the file`);
  await a.page.getByRole('button', { name: 'I have saved them' }).click();
  await a.page.getByTestId('mfa-on').filter({ hasText: '10 of 10 recovery codes left' }).waitFor();

  // A second browser: the password alone is not enough; a code signs it in.
  const b = await device(browser, relay.url);
  await firstStep(b.page, email);
  await b.page.getByLabel('Code from your authenticator app').fill(totp(secret, 0));
  await b.page.getByRole('button', { name: 'Verify' }).click();
  await b.page.getByTestId('account-email').waitFor({ timeout: 15000 });
  await waitSynced(b.page, 20000);

  // A third, another kind of device, with a recovery code, which then counts as used.
  const phone = 'Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0';
  const c = await device(browser, relay.url, { width: 390, height: 844 }, { userAgent: phone });
  await firstStep(c.page, email);
  await c.page.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await c.page.getByLabel('Recovery code').fill(codes[0].toUpperCase());
  await c.page.getByRole('button', { name: 'Verify' }).click();
  await c.page.getByTestId('account-email').waitFor({ timeout: 15000 });
  await waitSynced(c.page, 20000);
  await c.page.getByTestId('mfa-on').filter({ hasText: '9 of 10 recovery codes left' }).waitFor();

  // The first browser lists the three devices and signs the phone out; the
  // phone's sync stops at once, the others stay signed in.
  await goTo(a.page, 'Today');
  await goTo(a.page, 'Settings');
  const sessions = a.page.getByTestId('session');
  await sessions.nth(2).waitFor({ timeout: 5000 });
  assert.equal(await sessions.count(), 3);
  await sessions.filter({ hasText: 'This browser' }).waitFor();
  await a.page.screenshot({ path: join(artifacts, 'desktop-settings-devices.png'), fullPage: true });
  const phoneRow = sessions.filter({ hasText: 'Firefox on Android' });
  await phoneRow.getByRole('button', { name: 'Sign out' }).click();
  await a.page.locator('.toasts .toast', { hasText: 'Firefox on Android is signed out.' }).waitFor();
  await c.page.getByText('Your session ended, so sync is paused.').waitFor({ timeout: 10000 });
  await phoneRow.waitFor({ state: 'detached' });
  assert.equal(await sessions.count(), 2);
  assert.equal(await b.page.getByText('Your session ended').count(), 0);
  await waitSynced(b.page);

  // Turning it off needs the password and a code.
  await a.page.locator('#mfa-off-password').fill(PASSWORD);
  await a.page.locator('#mfa-off-code').fill(totp(secret, 1));
  await a.page.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
  await a.page.getByRole('button', { name: 'Turn on two-step sign-in' }).waitFor();

  for (const d of [a, b, c]) {
    assert.deepEqual(await d.cspViolations(), []);
    assert.deepEqual(unexpected(d.errors), []);
    await d.context.close();
  }
});

test('account: the password rule shown first, changing the password, signing out everywhere, and signing out says so', async () => {
  const email = uniqueEmail('pw');
  const renewed = 'a brand new long password';
  const a = await device(browser, relay.url);
  await open(a.page);
  await goTo(a.page, 'Settings');
  await a.page.getByRole('button', { name: 'Create an account' }).click();
  // The rule is there before anything is submitted.
  await a.page.locator('#password-rule', { hasText: 'At least 10 characters.' }).waitFor();
  await a.page.getByLabel('Email').fill(email);
  await a.page.getByLabel('Password').fill(PASSWORD);
  await a.page.getByRole('button', { name: 'Create account' }).click();
  await a.page.getByTestId('account-email').waitFor({ timeout: 15000 });
  await waitSynced(a.page);
  // Settings speaks to users, not developers.
  const words = await a.page.locator('main#content').textContent();
  assert.doesNotMatch(words, /signup_invites|Relay features|Not yet confirmed|Waiting to be saved|Documents/);

  const b = await device(browser, relay.url);
  await open(b.page);
  await login(b.page, email, PASSWORD);
  await waitSynced(b.page);

  // Changing the password: a wrong current one is refused; the right one
  // keeps this browser syncing and signs the other one out.
  await a.page.getByRole('button', { name: 'Change password' }).click();
  await a.page.locator('#pw-rule', { hasText: 'At least 10 characters.' }).waitFor();
  await a.page.getByLabel('Current password').fill('not the password at all');
  await a.page.getByLabel('New password').fill(renewed);
  await a.page.getByRole('button', { name: 'Change password' }).click();
  await a.page.getByRole('alert').filter({ hasText: 'The current password is wrong.' }).waitFor();
  await a.page.getByLabel('Current password').fill(PASSWORD);
  await a.page.getByRole('button', { name: 'Change password' }).click();
  await a.page.locator('.toasts .toast', { hasText: 'Password changed.' }).waitFor();
  await waitSynced(a.page, 20000);
  await b.page.getByText('Your session ended, so sync is paused.').waitFor({ timeout: 10000 });

  // Signing out everywhere ends this browser's session too; its data stays.
  a.page.once('dialog', (d) => d.accept());
  await a.page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await a.page.getByText('Your session ended, so sync is paused.').waitFor({ timeout: 10000 });

  // The other browser signs in with the new password, then signs out of
  // this browser: the reloaded app says what happened.
  await login(b.page, email, renewed);
  await waitSynced(b.page, 20000);
  b.page.once('dialog', (d) => d.accept());
  await b.page.getByRole('button', { name: 'Sign out of this browser' }).click();
  await b.page.locator('.toasts .toast', { hasText: 'You are signed out.' }).waitFor({ timeout: 15000 });
  assert.equal((await b.page.getByTestId('sync-status').textContent()).trim(), 'On this device');

  for (const d of [a, b]) {
    assert.deepEqual(await d.cspViolations(), []);
    await d.context.close();
  }
});
