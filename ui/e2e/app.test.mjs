// The built UI in Chromium with a fake back end: scanner keystrokes, manual entry, the
// language switch, the log's filters and its virtual list over 100,000 rows, export, toasts,
// the offline banner, a supervisor device, and a screenshot of each screen.
//
//   npm run test:e2e        (builds, then runs this file with node's test runner)

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { calls, launch, open, scanKeys, serve, shot, SHOTS } from './harness.mjs';

let server;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await serve();
  browser = await launch();
});

after(async () => {
  await browser?.stop();
  await server?.stop();
});

/** The mock's code for ticket n. */
const code = (page, n) => page.evaluate((n) => window.__mock.ticket(n).code, n);

describe('scan screen', () => {
  it('admits a ticket typed by a scanner, then refuses it as already used, with gate and time', async () => {
    const page = await open(browser.context, server.url);
    await shot(page, 'scan');
    const first = await code(page, 1);
    const before = Number(await page.getByTestId('counter-gate-admitted').textContent());

    await scanKeys(page, first);
    const verdict = page.getByTestId('verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-kind'), 'admitted');
    assert.equal(await page.getByTestId('verdict-holder').textContent(), 'Budi Santoso');
    assert.equal((await page.getByTestId('verdict-title').textContent()).trim(), 'Silakan masuk');
    await page.waitForFunction(() => document.querySelector('[data-testid=verdict]')?.dataset.latencyMs);
    const latency = Number(await verdict.getAttribute('data-latency-ms'));
    assert.ok(Number.isFinite(latency) && latency >= 0, `data-latency-ms is a number: ${latency}`);
    await shot(page, 'verdict-admitted');

    const scans = await calls(page, 'scan');
    assert.deepEqual(scans.map((c) => c.args), [{ text: first, source: 'wedge' }]);
    assert.equal(await page.getByTestId('manual-code').inputValue(), '', 'no key reached the field');
    assert.equal(Number(await page.getByTestId('counter-gate-admitted').textContent()), before + 1);

    await scanKeys(page, first);
    await page.locator('[data-testid=verdict][data-kind=already_used]').waitFor();
    const text = await verdict.textContent();
    assert.match(text, /Tiket sudah dipakai/);
    assert.match(text, /Sudah masuk pukul \d\d:\d\d di Gerbang 1/);
    await shot(page, 'verdict-already-used');

    await scanKeys(page, 'XYZ-NOT-A-TICKET');
    await page.locator('[data-testid=verdict][data-kind=malformed]').waitFor();
    assert.equal((await calls(page, 'scan')).at(-1).args.text, 'XYZ-NOT-A-TICKET');
    assert.match(await verdict.textContent(), /XYZ-NOT-A-TICKET/);
    await shot(page, 'verdict-refused');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('scans a code typed into the manual field with Enter, as a manual scan', async () => {
    const page = await open(browser.context, server.url);
    const second = await code(page, 2);
    // `fill` sets the text without key events, as a person's typing ends up.
    await page.getByTestId('manual-code').fill(second);
    await page.getByTestId('manual-code').press('Enter');
    await page.locator('[data-testid=verdict][data-kind=admitted]').waitFor();
    assert.equal(await page.getByTestId('verdict-holder').textContent(), 'Siti Rahmawati');
    const scans = await calls(page, 'scan');
    assert.deepEqual(scans.at(-1).args, { text: second, source: 'manual' });
    assert.equal(await page.getByTestId('manual-code').inputValue(), '');
    await page.close();
  });

  it('gives slow typing on the page to the manual field instead of scanning it', async () => {
    const page = await open(browser.context, server.url);
    await page.keyboard.type('abc', { delay: 90 });
    await page.waitForFunction(() => document.querySelector('[data-testid=manual-code]').value === 'abc');
    assert.equal((await calls(page, 'scan')).length, 0);
    await page.close();
  });

  it('finds a holder by name, offline, with where they are', async () => {
    const page = await open(browser.context, server.url);
    await page.getByLabel('Cari nama pemegang tiket').fill('Dewi');
    await page.getByText('Dewi Lestari').first().waitFor();
    assert.deepEqual((await calls(page, 'find_attendees')).at(-1).args, { query: 'Dewi' });
    await shot(page, 'search');
    await page.close();
  });

  it('admits a signed ticket by its holder’s name from the search', async () => {
    const page = await open(browser.context, server.url);
    await page.getByLabel('Cari nama pemegang tiket').fill('Dewi');
    const admit = page.getByTestId('admit-by-name').first();
    await admit.waitFor();
    assert.match(await admit.textContent(), /Izinkan masuk/);
    await admit.click();
    const verdict = page.getByTestId('verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-kind'), 'admitted');
    assert.match(await page.getByTestId('verdict-holder').textContent(), /Dewi/);
    const call = (await calls(page, 'admit_by_name')).at(-1);
    assert.equal(typeof call.args.ticketId, 'number');
    assert.equal(call.args.eventId, 1);
    assert.equal((await calls(page, 'scan')).length, 0);
    await page.close();
  });

  it('switches to exit mode through set_gate', async () => {
    const page = await open(browser.context, server.url);
    await page.getByRole('button', { name: 'Keluar' }).click();
    await page.waitForFunction(() => window.__mock.gate.direction === 'exit');
    const sent = (await calls(page, 'set_gate')).at(-1).args.gate;
    assert.deepEqual(sent, { name: 'Gerbang 1', direction: 'exit', allowed_types: [] });
    await page.close();
  });

  it('shows a first-run hint pointing to the demo tickets', async () => {
    const page = await open(browser.context, server.url, { firstRun: true });
    await page.getByRole('button', { name: 'Buka tiket demo' }).click();
    await page.getByTestId('demo-ticket').first().waitFor();
    assert.equal(await page.getByTestId('demo-ticket').count(), 12);
    assert.deepEqual((await calls(page, 'demo_tickets')).at(-1).args, { first: 1, count: 12 });
    await shot(page, 'demo-tickets');
    // The print stylesheet puts a page of 12 tickets, and nothing else, on one A4 sheet.
    const pdf = (await page.pdf({ format: 'A4' })).toString('latin1');
    assert.equal(pdf.match(/\/Type\s*\/Page\b/g)?.length, 1, 'one A4 page');
    await page.getByTestId('demo-next').click();
    await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'demo_tickets' && c.args.first === 13));
    await page.close();
  });

  it('a supervisor device says it cannot scan, and ignores scanner keys', async () => {
    const page = await open(browser.context, server.url, { role: 'supervisor' });
    await page.getByText('Perangkat pengawas').waitFor();
    await scanKeys(page, await code(page, 3));
    await page.waitForTimeout(300);
    assert.equal((await calls(page, 'scan')).length, 0);
    assert.equal(await page.getByTestId('verdict').count(), 0);
    await page.close();
  });
});

describe('camera', () => {
  const C920 = { index: 0, name: 'HD Pro Webcam C920', description: '/dev/video0' };

  it('shows the preview with the code outlined, and the verdict of a code the camera read', async () => {
    const page = await open(browser.context, server.url, { cameras: [C920] });
    assert.equal(await page.getByTestId('camera-status').textContent(), 'Menyalakan kamera…');
    await page.evaluate(() => {
      window.__mock.camera({ state: 'running', camera: 'HD Pro Webcam C920', width: 1280, height: 720, format: 'mjpeg', fps: 30 });
      // A frame as the Rust side sends it: a JPEG data URL, the code's corners in its pixels.
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 360;
      const g = canvas.getContext('2d');
      g.fillStyle = '#6b7280';
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#fff';
      g.fillRect(250, 110, 140, 140);
      window.__mock.emit('camera-preview', {
        jpeg: canvas.toDataURL('image/jpeg'),
        width: 640,
        height: 360,
        codes: [{ text: 'GB:x', corners: [[255, 115], [385, 115], [385, 245], [255, 245]] }],
      });
    });
    await page.locator('[data-testid=camera] img').waitFor();
    assert.equal(await page.getByTestId('camera-status').textContent(), 'Kamera: HD Pro Webcam C920');
    assert.equal(await page.locator('[data-testid=camera] polygon').getAttribute('points'), '255,115 385,115 385,245 255,245');
    await shot(page, 'camera');

    const fifth = await code(page, 5);
    await page.evaluate((text) => window.__mock.cameraScan(text), fifth);
    const verdict = page.locator('[data-testid=verdict][data-kind=admitted]');
    await verdict.waitFor();
    assert.equal(await page.getByTestId('verdict-holder').textContent(), (await page.evaluate(() => window.__mock.ticket(5).holder)));
    assert.deepEqual(await calls(page, 'scan'), [], 'the camera scan was recorded by the Rust side, not sent again');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('says there is no camera, and what still works', async () => {
    const page = await open(browser.context, server.url);
    assert.equal(await page.getByTestId('camera-status').textContent(), 'Tidak ada kamera');
    assert.match(await page.getByTestId('camera-problem').textContent(), /Kamera tidak terhubung\. Colokkan kamera/);
    await page.keyboard.press('F5');
    // Settings asks for the cameras when it opens; the answer says there are none.
    await page.getByTestId('camera-none').waitFor();
    assert.match(await page.getByTestId('camera-none').textContent(), /Tidak ada kamera terpasang/);
    await page.close();
  });

  it('chooses a camera in Settings, turns it off, and pairs from a pairing QR the camera read', async () => {
    const page = await open(browser.context, server.url, { cameras: [C920, { index: 2, name: 'USB Camera', description: '/dev/video2' }] });
    await page.keyboard.press('F5');
    const choice = page.getByTestId('camera-choice');
    await choice.waitFor();
    assert.deepEqual(await choice.locator('option').allTextContents(), [
      'Kamera pertama yang ditemukan',
      'HD Pro Webcam C920 (/dev/video0)',
      'USB Camera (/dev/video2)',
    ]);
    await choice.selectOption('2');
    await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'choose_camera'));
    assert.deepEqual((await calls(page, 'choose_camera')).map((c) => c.args), [{ index: 2 }]);

    await page.getByTestId('camera-use').uncheck({ force: true });
    await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'set_prefs'));
    assert.equal((await calls(page, 'set_prefs')).at(-1).args.prefs.camera, false);
    assert.equal(await choice.isDisabled(), true);

    const text = 'gerbang://pair?relay=wss://192.168.1.10:8420&code=K7M2-Q9XD-G';
    await page.evaluate((text) => window.__mock.emit('camera-pairing', text), text);
    await page.getByTestId('pair-from-camera').waitFor();
    assert.equal(await page.getByTestId('pair-text').inputValue(), text);
    await page.getByTestId('pair-submit').click();
    await page.getByTestId('pair-status').waitFor();
    assert.deepEqual((await calls(page, 'pair')).map((c) => c.args), [{ text }]);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});

describe('language', () => {
  it('switches every text at run time, and stores the choice', async () => {
    const page = await open(browser.context, server.url);
    await page.getByText('Siap memindai').waitFor();
    await page.getByRole('button', { name: 'Ganti bahasa ke English' }).click();
    await page.getByText('Ready to scan').waitFor();
    assert.equal((await page.getByTestId('nav-settings').textContent()).includes('Settings'), true);
    await shot(page, 'scan-en');

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('lang-id').check({ force: true });
    await page.getByText('Koneksi relay').waitFor();
    assert.equal((await calls(page, 'set_prefs')).at(-1).args.prefs.language, 'id');
    assert.equal(await page.evaluate(() => localStorage.getItem('gerbang.lang')), 'id');
    await page.close();
  });
});

describe('attendance log', () => {
  it('sends the chosen filters to attendance and shows the rows it answers', async () => {
    const page = await open(browser.context, server.url);
    await page.keyboard.press('F3');
    await page.getByTestId('log-row').first().waitFor();
    await shot(page, 'log');
    assert.match(await page.getByTestId('log-total').textContent(), /^60 pindaian$/);

    await page.getByTestId('log-gate').selectOption('Gerbang 2');
    await page.getByTestId('log-direction').selectOption('entry');
    await page.getByTestId('log-verdicts').locator('summary').click();
    await page.locator('input[data-kind=already_used]').check();
    await page.keyboard.press('Escape');
    await page.getByTestId('log-search').fill('Agus');
    await page.waitForFunction(() => window.__mock.calls.filter((c) => c.cmd === 'attendance').at(-1)?.args.filter.text === 'Agus');
    const filter = (await calls(page, 'attendance')).at(-1).args.filter;
    assert.deepEqual(filter, {
      event_id: 1,
      gate: 'Gerbang 2',
      from: null,
      to: null,
      verdicts: ['already_used'],
      direction: 'entry',
      conflicts_only: false,
      ticket_id: null,
      text: 'Agus',
    });
    await page.getByTestId('log-search').fill('');
    await page.getByTestId('log-conflicts').check();
    await page.waitForFunction(() => window.__mock.calls.filter((c) => c.cmd === 'attendance').at(-1)?.args.filter.conflicts_only);
    const rows = page.getByTestId('log-row');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-verdict'), 'already_used');
    assert.match(await rows.first().textContent(), /Fajar Marlina/);

    // A row opens that ticket's history.
    await rows.first().click();
    await page.getByTestId('history').waitFor();
    const history = (await calls(page, 'attendance')).at(-1).args;
    assert.equal(history.filter.ticket_id, 121);
    assert.equal(history.offset, 0);
    await shot(page, 'log-history');
    await page.close();
  });

  it('scrolls a 100,000-row log and fetches the page at the scroll position', async () => {
    const page = await open(browser.context, server.url, { logTotal: 100_000 });
    await page.getByTestId('nav-log').click();
    await page.getByTestId('log-row').first().waitFor();
    assert.equal((await page.getByTestId('log-total').textContent()).trim(), '100.000 pindaian');
    const first = (await calls(page, 'attendance')).map((c) => [c.args.offset, c.args.limit]);
    assert.deepEqual(first, [[0, 200]]);

    // Jump to row 50,000 (52 px rows).
    await page.getByTestId('log-viewport').evaluate((el) => (el.scrollTop = 50_000 * 52));
    await page.getByText('Pemegang 50000', { exact: true }).waitFor();
    const offsets = (await calls(page, 'attendance')).map((c) => c.args.offset);
    assert.ok(offsets.includes(50_000), `fetched offset 50,000: ${offsets}`);
    assert.ok(offsets.every((o) => o === 0 || (o >= 49_800 && o <= 50_000)), `only the pages in view: ${offsets}`);
    const drawn = await page.getByTestId('log-row').count();
    assert.ok(drawn > 5 && drawn < 60, `only the visible rows are in the DOM (${drawn})`);

    // And to the very end.
    await page.getByTestId('log-viewport').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.getByText('Pemegang 99999', { exact: true }).waitFor();
    assert.ok((await calls(page, 'attendance')).some((c) => c.args.offset === 99_800));
    await page.close();
  });

  it('exports the filtered log as CSV through the save dialog, with progress', async () => {
    const page = await open(browser.context, server.url);
    await page.getByTestId('nav-log').click();
    await page.getByTestId('log-row').first().waitFor();
    await page.getByTestId('log-export').click();
    await page.getByTestId('export-progress').waitFor();
    await page.getByTestId('export-result').waitFor();
    assert.match(await page.getByTestId('export-result').textContent(), /60 baris diekspor ke \/home\/petugas\/kehadiran\.csv/);
    const sent = (await calls(page)).filter((c) => c.cmd === 'plugin:dialog|save' || c.cmd === 'export_attendance');
    assert.deepEqual(sent.map((c) => c.cmd), ['plugin:dialog|save', 'export_attendance']);
    assert.equal(sent[1].args.path, '/home/petugas/kehadiran.csv');
    await page.close();
  });
});

describe('live updates', () => {
  it('toasts a message, badges the nav, and shows the offline banner', async () => {
    const page = await open(browser.context, server.url);
    await page.evaluate(() =>
      window.__mock.update({
        messages: [{ message_id: 'x1', from: 'Pengawas', to: null, text: 'Gerbang 2 ditutup sementara.', at: Date.now() }],
        remote_scans: [{ gate: 'Gerbang 2', holder: 'Nur Aini', verdict: 'already_used', at: Date.now(), conflict: true }],
      }),
    );
    await page.locator('[data-testid=toast][data-kind=message]').waitFor();
    await page.locator('[data-testid=toast][data-kind=conflict]').waitFor();
    assert.equal((await page.getByTestId('unread-badge').textContent()).trim(), '1');

    // A snapshot on its way in shows its progress in the status bar.
    await page.evaluate(() =>
      window.__mock.update({ sync: { state: 'connecting', snapshot: { stage: 'applying', done: 25_000, total: 100_000 } } }),
    );
    await page.getByText('Memasang data acara… 25%').waitFor();
    await shot(page, 'snapshot');

    await page.evaluate(() => window.__mock.update({ sync: { state: 'offline', outbox: 7, last_error: 'connection refused' } }));
    assert.equal(await page.getByText('Memasang data acara').count(), 0);
    await page.locator('[data-testid=link-state][data-state=offline]').waitFor();
    assert.equal((await page.getByTestId('outbox-depth').textContent()).trim(), '7');
    await page.getByText('Luring: pindaian tetap diperiksa').waitFor();
    await shot(page, 'offline');

    await page.keyboard.press('F4');
    await page.getByTestId('message').getByText('Gerbang 2 ditutup sementara.').waitFor();
    assert.equal(await page.getByTestId('unread-badge').count(), 0);
    await page.close();
  });

  it('shows remote scans as one counting toast on the dashboard', async () => {
    const page = await open(browser.context, server.url);
    await page.keyboard.press('F2');
    await page.getByTestId('counter-inside').waitFor();
    for (let i = 0; i < 5; i++) {
      await page.evaluate((i) =>
        window.__mock.update({
          remote_scans: [
            { gate: 'Gerbang 2', holder: `Tamu ${i}a`, verdict: 'admitted', at: Date.now(), conflict: false },
            { gate: 'Gerbang Timur', holder: `Tamu ${i}b`, verdict: 'admitted', at: Date.now(), conflict: false },
          ],
        }), i);
    }
    const toasts = page.locator('[data-testid=toast][data-kind=remote_scan]');
    await page.getByText('10 pindaian di gerbang lain').waitFor();
    assert.equal(await toasts.count(), 1);
    await page.close();
  });
});

describe('screens', () => {
  it('dashboard, messages and settings render, reachable by F-keys', async () => {
    const page = await open(browser.context, server.url);
    await page.keyboard.press('F2');
    await page.getByTestId('counter-inside').waitFor();
    await page.locator('.u-legend').waitFor();
    assert.equal((await page.getByTestId('counter-inside').textContent()).trim(), '988');
    await shot(page, 'dashboard');

    await page.keyboard.press('F4');
    await page.getByText('Siap, kami arahkan.').waitFor();
    await page.getByTestId('msg-text').fill('Gerbang 1 butuh satu petugas tambahan.');
    await page.getByTestId('msg-send').click();
    await page.getByText('Pesan terkirim.').waitFor();
    assert.deepEqual((await calls(page, 'send_message')).at(-1).args, {
      to: null,
      text: 'Gerbang 1 butuh satu petugas tambahan.',
    });
    await shot(page, 'messages');

    await page.keyboard.press('F5');
    await page.getByTestId('pairing-role-gate').click();
    await page.getByTestId('pairing-text').waitFor();
    assert.match(await page.getByTestId('pairing-text').textContent(), /^gerbang:\/\/pair\?relay=wss:.*&fp=/);
    await shot(page, 'settings');

    await page.getByTestId('pair-text').fill('not a pairing text');
    await page.getByTestId('pair-submit').click();
    await page.getByTestId('pair-status').waitFor();
    assert.match(await page.getByTestId('pair-status').textContent(), /Gagal memasangkan/);

    await page.keyboard.press('Alt+1');
    await page.getByText('Siap memindai').waitFor();
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
