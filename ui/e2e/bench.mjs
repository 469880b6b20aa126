// How long the UI itself takes, in Chromium with the fake back end answering at once (so the
// numbers leave out IPC and the Rust side): a scan from its first key to the verdict painted,
// and the attendance log from a jump to row N to row N drawn, over 100,000 rows. Each is set
// beside a floor measured the same way: one text change and the frame that paints it.
//
//   npm run build && node e2e/bench.mjs [ROUNDS]

import { launch, open, scanKeys, serve } from './harness.mjs';

const rounds = Number(process.argv[2] ?? 100);

function stats(samples) {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length < samples.length) {
    throw new Error(`${samples.length - sorted.length} of ${samples.length} samples timed out`);
  }
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p95: at(0.95), max: sorted.at(-1) };
}

const fmt = (s) => `p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;

/** The floor: a text change and the frame that paints it. */
async function floor(page) {
  return page.evaluate(
    () =>
      new Promise((done) => {
        const el = document.createElement('div');
        document.body.append(el);
        const start = performance.now();
        el.textContent = String(start);
        requestAnimationFrame(() => {
          const took = performance.now() - start;
          el.remove();
          done(took);
        });
      }),
  );
}

const server = await serve();
const browser = await launch();
try {
  const page = await open(browser.context, server.url, { ipcMs: 0 });
  const floors = [];
  const verdicts = [];
  for (let i = 0; i < rounds; i++) {
    floors.push(await floor(page));
    // Each ticket once, so every verdict is a fresh admission; an instant burst, so the time
    // is the UI's and not the scanner's typing.
    const code = await page.evaluate((n) => window.__mock.ticket(n).code, 1 + (i % 400));
    await page.evaluate(() => document.querySelector('[data-testid=verdict]')?.removeAttribute('data-latency-ms'));
    await scanKeys(page, code, { gapMs: 0 });
    await page.waitForFunction(() => document.querySelector('[data-testid=verdict]')?.dataset.latencyMs);
    verdicts.push(Number(await page.getAttribute('[data-testid=verdict]', 'data-latency-ms')));
  }
  await page.close();

  const log = await open(browser.context, server.url, { ipcMs: 0, logTotal: 100_000 });
  await log.getByTestId('nav-log').click();
  await log.getByTestId('log-row').first().waitFor();
  const jumps = [];
  for (let i = 0; i < rounds; i++) {
    // Rows far apart (about 38,000 rows each step), so no jump lands where the last one was.
    const row = 500 + ((i * 38_011) % 99_000);
    jumps.push(
      await log.evaluate(
        (row) =>
          new Promise((done) => {
            const viewport = document.querySelector('[data-testid=log-viewport]');
            const start = performance.now();
            // The moment the row is in the DOM, then the frame that paints it.
            const watch = new MutationObserver(() => {
              if (document.querySelector(`[data-testid=log-row][data-index="${row}"]`)) {
                watch.disconnect();
                requestAnimationFrame(() => done(performance.now() - start));
              }
            });
            watch.observe(viewport, { childList: true, subtree: true });
            viewport.scrollTop = row * 52;
            setTimeout(() => {
              watch.disconnect();
              done(Number.NaN);
            }, 5_000);
          }),
        row,
      ),
    );
  }
  await log.close();

  const f = stats(floors);
  const v = stats(verdicts);
  const j = stats(jumps);
  console.log(`rounds: ${rounds}`);
  console.log(`floor (text change to painted frame): ${fmt(f)}`);
  console.log(`scan, first key to verdict painted:   ${fmt(v)}  (p50 ${(v.p50 / f.p50).toFixed(1)}x the floor)`);
  console.log(`log jump to row N painted, 100,000:  ${fmt(j)}  (p50 ${(j.p50 / f.p50).toFixed(1)}x the floor)`);
} finally {
  await browser.stop();
  await server.stop();
}
