// What the end-to-end tests share: a static server for the built UI (dist/), Debian's
// Chromium driven by playwright-core (no browser download, ever), and a page opened with the
// fake Tauri back end (mock-ipc.js) installed before the UI's own scripts.

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const DIST = resolve(here, '../dist');
/** Where screenshots go: docs/screenshots, unless GERBANG_SCREENSHOTS says elsewhere (the CI
 * run keeps them out of the working tree). */
export const SHOTS = process.env.GERBANG_SCREENSHOTS ?? resolve(here, '../../docs/screenshots');
const MOCK = join(here, 'mock-ipc.js');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Serves dist/ on a free loopback port; resolves with its base URL and a stop function. */
export function serve(root = DIST) {
  try {
    statSync(join(root, 'index.html'));
  } catch {
    throw new Error(`${root}/index.html is missing: run \`npm run build\` first (npm run test:e2e does)`);
  }
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok, fail) => {
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      ok({ url: `http://127.0.0.1:${port}/`, stop: () => new Promise((done) => server.close(done)) });
    });
  });
}

/** Starts Chromium with a fresh profile; resolves with the browser and a stop function. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'gerbang-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: 'id-ID',
    timezoneId: 'Asia/Jakarta',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return {
    context,
    async stop() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the UI with the mocked back end; `options` go to the mock (see mock-ipc.js). */
export async function open(context, url, options = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.addInitScript((opts) => {
    window.__GERBANG_MOCK__ = opts;
    // Each page starts in Indonesian, whatever an earlier test chose.
    localStorage.removeItem('gerbang.lang');
  }, options);
  await page.addInitScript({ path: MOCK });
  await page.goto(url);
  await page.getByTestId('nav-scan').waitFor();
  await page.getByTestId('link-state').waitFor();
  page.errors = errors;
  return page;
}

/** What the UI sent to the back end, optionally for one command. */
export async function calls(page, cmd) {
  const all = await page.evaluate(() => window.__mock.calls);
  return cmd ? all.filter((c) => c.cmd === cmd) : all;
}

/** Keys as a USB scanner types them: `gapMs` apart, then Enter, into whatever has focus.
 * They are dispatched inside the page in one go, each stamped with the time a scanner would
 * have sent it (`timeStamp`, which the wedge reads), so their timing is the scanner's and
 * not that of the test driver's round trips (Chromium's remote protocol can hold a key back
 * for tens of milliseconds, most of all right after a screenshot) or of a loaded machine
 * pausing the page. */
export async function scanKeys(page, code, { enter = true, gapMs = 3 } = {}) {
  await page.evaluate(
    ({ code, enter, gapMs }) => {
      const target = document.activeElement ?? document.body;
      // As if the scanner had been typing for the last (keys × gap) ms: no stamp is later than
      // the moment its key is handled.
      const keys = [...code].length + (enter ? 1 : 0);
      const start = performance.now() - (keys - 1) * gapMs;
      let i = 0;
      const send = (key) => {
        const at = start + i++ * gapMs;
        for (const type of ['keydown', 'keyup']) {
          const event = new KeyboardEvent(type, { key, bubbles: true, cancelable: true });
          Object.defineProperty(event, 'timeStamp', { value: at });
          target.dispatchEvent(event);
        }
      };
      for (const c of code) send(c);
      if (enter) send('Enter');
    },
    { code, enter, gapMs },
  );
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `ui-${name}.png`) });
}
