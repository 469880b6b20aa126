// The real app, driven over WebDriver (tauri-driver + WebKitWebDriver) under Xvfb.
//
//   node tests/webdriver/app.test.mjs BINARY SCREENSHOT_DIR
//
// scripts/webdriver.sh starts it inside xvfb-run. Two instances of the real `gerbang` binary run
// on their own temporary data folders: A hosts the relay with the demo event (as a first run
// does), B pairs with A. The test feeds codes to A as scanner keystrokes and checks the verdict
// shown, the counters and the log row; then that B, paired with A, shows A's scan. It saves a
// screenshot of each screen into SCREENSHOT_DIR.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { ELEMENT, ENTER, ESCAPE, Session } from './webdriver.mjs';

const [binary, shots] = process.argv.slice(2);
if (!binary || !shots) {
  console.error('usage: node app.test.mjs BINARY SCREENSHOT_DIR');
  process.exit(2);
}

const children = [];
const folders = [];
let failed = false;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts a tauri-driver whose apps get `env`; resolves with its base URL once it listens. */
async function startDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const child = spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) return base;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null) throw new Error(`tauri-driver exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('tauri-driver did not start within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function appEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'gerbang-wd-'));
  folders.push(dir);
  return {
    GERBANG_DATA_DIR: join(dir, 'data'),
    // A free port chosen by the system, so two instances (and CI's other tests) never clash.
    GERBANG_RELAY_LISTEN: '127.0.0.1:0',
    GERBANG_DEMO_TICKETS: '300',
    // Xvfb has no GPU; WebKitGTK's DMA-BUF renderer can leave the window blank without one.
    WEBKIT_DISABLE_DMABUF_RENDERER: '1',
    XDG_DATA_HOME: join(dir, 'xdg-data'),
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
  };
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

/** A screenshot of the X display (the newest window is on top), its black margin trimmed.
 * Taken by ImageMagick rather than WebDriver: WebKitWebDriver's screenshot command can hang on
 * some screens (the attendance log) and never answer. */
async function shot(_session, name) {
  const file = join(shots, `app-${name}.png`);
  await new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'import -window root png:- | convert png:- -trim +repage "$0"', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`screenshot ${name}: exit ${code}`))));
  });
  console.log(`screenshot app-${name}.png`);
}

/** Calls a command of the app from its page (as the UI does), for test setup. */
function invoke(session, command, args) {
  return session.execAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
       .then((v) => done({ ok: v }), (e) => done({ err: e }));`,
    [command, args],
  );
}

async function linkState(session) {
  const el = (await session.find('link-state'))[0];
  return el ? session.attr(el, 'data-state') : null;
}

async function numberOf(session, testId) {
  const el = await session.one(testId);
  return Number((await session.text(el)).replace(/[^0-9]/g, ''));
}

async function verdict(session) {
  const el = await session.one('verdict', 10_000);
  return { kind: await session.attr(el, 'data-kind'), text: await session.text(el) };
}

/** Types `code` as a USB scanner would, from inside the page (each key stamped with a
 * scanner's timing, so WebDriver's own slowness is not measured), and waits for `holder`'s
 * verdict to be painted. Resolves with its kind and the time from the last key (Enter) to the
 * frame after the verdict was drawn (real IPC, SQLite and WebKit): the UI's `data-latency-ms`,
 * which counts from the first key, less the scanner's typing time. */
function scanInPage(session, code, holder) {
  return session.execAsync(
    `const [code, holder, done] = arguments;
     const old = document.querySelector('[data-testid=verdict]');
     if (old) delete old.dataset.latencyMs;
     const keys = [...code, 'Enter'];
     const gap = 3;
     const start = performance.now() - (keys.length - 1) * gap;
     const target = document.activeElement ?? document.body;
     keys.forEach((key, i) => {
       for (const type of ['keydown', 'keyup']) {
         const event = new KeyboardEvent(type, { key, bubbles: true, cancelable: true });
         Object.defineProperty(event, 'timeStamp', { value: start + i * gap });
         target.dispatchEvent(event);
       }
     });
     const began = Date.now();
     (function poll() {
       const v = document.querySelector('[data-testid=verdict]');
       const h = v && v.querySelector('[data-testid=verdict-holder]');
       if (v && v.dataset.latencyMs && h && h.textContent === holder) {
         // The UI measures from the first key; the scanner's own typing time is not ours.
         return done({ kind: v.dataset.kind, ms: Number(v.dataset.latencyMs) - (keys.length - 1) * gap });
       }
       if (Date.now() - began > 10000) return done({ error: 'no verdict within 10 s' });
       setTimeout(poll, 5);
     })();`,
    [code, holder],
  );
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const driverA = await startDriver(appEnv());
  const a = await Session.start(driverA, binary);
  try {
    // A: a first run hosts the relay with the demo event and is online to itself.
    await a.until('A online', async () => (await linkState(a)) === 'online', 60_000);
    check(true, 'A hosts the relay and is online');
    await shot(a, 'scan');

    const demo = await invoke(a, 'demo_tickets', { first: 21, count: 2 });
    check(demo.ok && demo.ok.length === 2, 'A issues demo tickets');
    const [first, second] = demo.ok;

    // A USB scanner types the code and Enter, fast, into whatever has focus. (The scanner's
    // keys are dispatched in the page with a scanner's timing: WebDriver's own typing is
    // neither a scanner's pace nor a person's, and the keyboard-wedge would rightly split it.)
    await scanInPage(a, first.code, first.holder);
    let v = await verdict(a);
    check(v.kind === 'admitted', `scanner keystrokes admit ticket ${first.ticket_id} (${v.kind})`);
    check(v.text.includes(first.holder), `the verdict names ${first.holder}`);
    await shot(a, 'verdict-admitted');
    await a.until('counter 1', async () => (await numberOf(a, 'counter-admitted')) === 1);
    check(true, 'the admitted counter shows 1');

    // The same ticket again at once (a scanner reading twice, inside the gate's 3 s duplicate
    // window): the same scan shown again, not counted again.
    const closeVerdict = async () => {
      await a.keys(ESCAPE);
      await a.until('verdict closed', async () => (await a.find('verdict')).length === 0);
    };
    await closeVerdict();
    await scanInPage(a, first.code, first.holder);
    const lastRead = Date.now();
    v = await verdict(a);
    check(['admitted', 'already_used'].includes(v.kind), `a repeated read shows a verdict (${v.kind})`);
    check((await numberOf(a, 'counter-admitted')) === 1, 'a repeated read is not counted again');
    // Once the window has passed (measured from the last read; the rule is about time, so
    // the test lets the time pass), the ticket is refused as already used at this gate.
    await new Promise((r) => setTimeout(r, Math.max(0, lastRead + 3_500 - Date.now())));
    await closeVerdict();
    await scanInPage(a, first.code, first.holder);
    v = await a.until('already used', async () => {
      const now = await verdict(a);
      return now.kind === 'already_used' ? now : null;
    });
    check(v.text.includes('Gerbang 1'), 'already used says at which gate');
    await shot(a, 'verdict-already-used');

    // Manual entry of the second ticket's code.
    await closeVerdict();
    // A person pastes the code into the field and presses Enter (WebDriver's typing is neither
    // a scanner's speed nor a person's, so the keyboard-wedge would rightly split it).
    const manual = await a.one('manual-code');
    await a.click(manual);
    await a.exec(
      `const field = arguments[0];
       Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(field, arguments[1]);
       field.dispatchEvent(new Event('input', { bubbles: true }));`,
      [{ [ELEMENT]: manual }, second.code],
    );
    await a.keys(ENTER);
    v = await a.until('second admitted', async () => {
      const now = await verdict(a);
      return now.kind === 'admitted' && now.text.includes(second.holder) ? now : null;
    });
    check(true, 'manual entry admits the second ticket');
    check((await numberOf(a, 'counter-admitted')) === 2, 'the admitted counter shows 2');

    // The log has both scans and the refusal.
    await a.click(await a.one('nav-log'));
    const rows = await a.until('3 log rows', async () => {
      const found = await a.find('log-row');
      return found.length >= 3 ? found : null;
    });
    const texts = await Promise.all(rows.map((r) => a.text(r)));
    check(texts.some((t) => t.includes(first.holder)), 'the log shows the first holder');
    check(texts.some((t) => t.includes(second.holder)), 'the log shows the second holder');
    await shot(a, 'log');
    await a.click(await a.one('nav-dashboard'));
    // The gate's own row in the throughput table: the dashboard has read the gate's log.
    const gateAdmitted = await a.until('dashboard row of Gerbang 1 with 2 admitted', async () => {
      const text = await a.exec(
        'return document.querySelector(\'[data-testid="gate-row"][data-gate="Gerbang 1"] [data-testid="gate-admitted"]\')?.textContent ?? null',
        [],
      );
      const n = text === null ? null : Number(text.replace(/[^0-9]/g, ''));
      return n === 2 ? n : null;
    });
    check(gateAdmitted === 2, 'the dashboard lists Gerbang 1 with 2 admitted');
    await shot(a, 'dashboard');
    await a.click(await a.one('nav-messages'));
    await shot(a, 'messages');

    // Keystroke to verdict in the real app: 30 more demo tickets, each admitted.
    await a.click(await a.one('nav-scan'));
    const more = await invoke(a, 'demo_tickets', { first: 101, count: 30 });
    check(more.ok && more.ok.length === 30, 'A issues 30 more demo tickets');
    const latencies = [];
    for (const ticket of more.ok) {
      const result = await scanInPage(a, ticket.code, ticket.holder);
      if (result.error || result.kind !== 'admitted') {
        throw new Error(`ticket ${ticket.ticket_id}: ${result.error ?? result.kind}`);
      }
      latencies.push(result.ms);
    }
    check(latencies.length === 30, '30 scanner bursts are each admitted');
    latencies.sort((x, y) => x - y);
    console.log(
      `Enter to verdict painted (ms, 30 scans): median ${percentile(latencies, 50)}, ` +
        `p95 ${percentile(latencies, 95)}, max ${latencies.at(-1)}`,
    );
    check((await numberOf(a, 'counter-admitted')) === 32, 'the admitted counter shows 32');

    // Admission by name: a signed ticket picked from the offline search, no code shown.
    const [byName] = (await invoke(a, 'demo_tickets', { first: 201, count: 1 })).ok;
    const search = await a.one('name-search');
    await a.exec(
      `const field = arguments[0];
       Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(field, arguments[1]);
       field.dispatchEvent(new Event('input', { bubbles: true }));`,
      [{ [ELEMENT]: search }, byName.holder],
    );
    await a.until('the ticket in the search', async () =>
      a.exec(
        `const hit = document.querySelector('[data-testid=search-hit][data-ticket="' + arguments[0] + '"]');
         const button = hit && hit.querySelector('[data-testid=admit-by-name]');
         if (!button) return null;
         button.click();
         return true;`,
        [byName.ticket_id],
      ),
    );
    v = await a.until('admitted by name', async () => {
      const now = await verdict(a);
      return now.kind === 'admitted' && now.text.includes(byName.holder) ? now : null;
    });
    check(true, `ticket ${byName.ticket_id} is admitted by its holder's name from the search`);
    check((await numberOf(a, 'counter-admitted')) === 33, 'the admitted counter shows 33');

    // B pairs with A using the pairing text A shows in its settings.
    await a.click(await a.one('nav-settings'));
    await a.click(await a.one('pairing-role-gate'));
    const pairingText = await a.until('pairing text', async () => {
      const el = (await a.find('pairing-text'))[0];
      const text = el ? (await a.text(el)).trim() : '';
      return text.startsWith('gerbang://pair?') ? text : null;
    });
    await shot(a, 'settings');

    const driverB = await startDriver(appEnv());
    const b = await Session.start(driverB, binary);
    try {
      await b.one('nav-settings', 60_000);
      const renamed = await invoke(b, 'set_gate', {
        gate: { name: 'Gerbang 2', direction: 'entry', allowed_types: [] },
      });
      check(renamed.ok && renamed.ok.name === 'Gerbang 2', 'B is named Gerbang 2');
      await b.click(await b.one('nav-settings'));
      await b.type(await b.one('pair-text'), pairingText);
      await b.click(await b.one('pair-submit'));
      // B was online to the relay it hosted on its first start; pairing moves it to A's.
      const status = await b.one('pair-status', 30_000);
      const said = (await b.text(status)).trim();
      check((await b.attr(status, 'class')).includes('ok-text'), `B pairs with A: ${said}`);
      await b.until('B online with A', async () => (await linkState(b)) === 'online', 30_000);
      check(true, 'B is online with A');
      // B's log holds every scan made at A (its newest on top: the list draws only the rows
      // on screen).
      const event = (await invoke(a, 'app_snapshot', {})).ok.event;
      const all = { event_id: event.id, gate: null, from: null, to: null, verdicts: [], direction: null, conflicts_only: false, ticket_id: null, text: null };
      const atA = (await invoke(a, 'attendance', { filter: all, offset: 0, limit: 1 })).ok.total;
      const newest = byName;
      await b.click(await b.one('nav-log'));
      await b.until("A's scans on B", async () => {
        const total = await numberOf(b, 'log-total');
        const found = await b.find('log-row');
        const texts = await Promise.all(found.map((r) => b.text(r)));
        return total === atA && texts.some((t) => t.includes(newest.holder));
      });
      check(true, `B's log shows all ${atA} scans made at A, the newest (${newest.holder}) on top`);
      // And B refuses A's ticket as used at A.
      await b.click(await b.one('nav-scan'));
      await scanInPage(b, first.code, first.holder);
      const bv = await b.until('B refuses', async () => {
        const now = await verdict(b);
        return now.kind === 'already_used' ? now : null;
      });
      check(bv.text.includes('Gerbang 1'), "B refuses A's ticket as already used at A's gate");
      await shot(b, 'second-gate');
    } finally {
      await b.quit();
    }
  } finally {
    await a.quit();
  }
}

try {
  await main();
  console.log('webdriver: all checks passed');
} catch (e) {
  failed = true;
  console.error(`webdriver: FAILED: ${e.stack ?? e}`);
} finally {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
