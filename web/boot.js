// Starts the app and its service worker. build.sh fills in the hashed names.
import init from '/{{JS}}';

window.__lifeosBootStart = performance.now();
init({ module_or_path: '/{{WASM}}' }).catch((e) => {
  const app = document.getElementById('app');
  app.innerHTML = '';
  const box = document.createElement('div');
  box.className = 'splash error';
  box.setAttribute('role', 'alert');
  box.textContent = 'LifeOS could not start in this browser: ' + e;
  app.appendChild(box);
});

// Offline shell and updates. A new version installs in the background and
// waits; the app shows "A new version is ready" and reloads when the user says so.
if ('serviceWorker' in navigator) {
  let applying = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (applying) location.reload();
  });
  navigator.serviceWorker.register('/sw.js').then((reg) => {
    const ready = () => {
      window.__lifeosUpdateReady = true;
      window.dispatchEvent(new Event('lifeos-update-ready'));
    };
    if (reg.waiting && navigator.serviceWorker.controller) ready();
    reg.addEventListener('updatefound', () => {
      const worker = reg.installing;
      if (!worker) return;
      worker.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) ready();
      });
    });
    window.__lifeosApplyUpdate = () => {
      applying = true;
      if (reg.waiting) reg.waiting.postMessage({ type: 'SKIP_WAITING' });
      else location.reload();
    };
    // Look for a new version now and then, and whenever the app comes back.
    setInterval(() => reg.update().catch(() => {}), 60 * 60 * 1000);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') reg.update().catch(() => {});
    });
  }).catch((e) => console.warn('service worker not registered:', e));
}
