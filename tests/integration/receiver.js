'use strict';
/*
 * receiver: Chromium as the receiver of deskd's input, for test-receivers.
 * Starts the system's chromium (never a downloaded one) through
 * playwright-core, headed and in kiosk mode on $DISPLAY with a fresh
 * profile, showing a page that logs the DOM events a user would look at:
 * dblclick, drag and drop, keydown with its key and code, a text field's
 * value. The test drives X; this script only reports what the page saw.
 *
 * usage: DISPLAY=:N node receiver.js
 * Prints {"ready":true} once the page is up, then answers one JSON line per
 * command line on stdin:
 *   offset                 {"dx","dy"}: screen minus page coordinates, from
 *                          the first mousemove the page gets (waits for one)
 *   rects                  {"id":[x,y,w,h],...}: the page's elements, page coordinates
 *   wait TYPE N MS         {"n"}: waits up to MS ms until the log holds N events
 *                          of TYPE, then says how many it holds
 *   waitvalue ID MS TEXT   {"value"}: waits up to MS ms until field ID holds TEXT
 *   log                    {"events":[...]}: the events logged since the last
 *                          log or set, which are then forgotten
 *   set ID TEXT            {}: field ID holds TEXT, focused, caret at the end;
 *                          the log is cleared
 *   quit                   closes the browser and exits
 * Exits 1 with a message on stderr when anything fails.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const TIMEOUT = 30000;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; font: 16px sans-serif; background: #eee; }
div, input, textarea { position: absolute; box-sizing: border-box; }
#dbl { left: 40px; top: 40px; width: 300px; height: 200px; background: #8c8; }
#src { left: 400px; top: 40px; width: 120px; height: 120px; background: #c88; }
#dst { left: 700px; top: 40px; width: 300px; height: 300px; background: #88c; }
#field { left: 40px; top: 400px; width: 600px; height: 40px; }
#area { left: 40px; top: 460px; width: 900px; height: 200px; }
</style></head><body>
<div id="dbl"></div><div id="src" draggable="true"></div><div id="dst"></div>
<input id="field" autocomplete="off"><textarea id="area"></textarea>
<script>
window.events = [];
window.offset = null;
const log = (e) => window.events.push(e);
document.addEventListener('mousemove', (e) => {
  if (!window.offset) window.offset = { dx: e.screenX - e.clientX, dy: e.screenY - e.clientY };
});
for (const t of ['mousedown', 'dblclick', 'dragstart', 'drop', 'dragend'])
  document.addEventListener(t, (e) => log({ type: t, target: e.target.id, detail: e.detail }));
document.getElementById('dst').addEventListener('dragover', (e) => e.preventDefault());
document.getElementById('dst').addEventListener('drop', (e) => e.preventDefault());
document.addEventListener('keydown', (e) => log({ type: 'keydown', key: e.key, code: e.code,
  ctrl: e.ctrlKey, shift: e.shiftKey, alt: e.altKey }));
</script></body></html>`;

async function answer(page, line) {
  const [cmd, ...rest] = line.split(' ');
  switch (cmd) {
    case 'offset':
      return (await page.waitForFunction(() => window.offset, null,
        { timeout: 5000, polling: 20 })).jsonValue();
    case 'rects':
      return page.evaluate(() => {
        const out = {};
        for (const el of document.querySelectorAll('[id]')) {
          const r = el.getBoundingClientRect();
          out[el.id] = [r.left, r.top, r.width, r.height];
        }
        return out;
      });
    case 'wait': {
      const [type, n, ms] = [rest[0], Number(rest[1]), Number(rest[2])];
      const count = () => page.evaluate((t) => window.events.filter((e) => e.type === t).length, type);
      await page.waitForFunction(([t, k]) => window.events.filter((e) => e.type === t).length >= k,
        [type, n], { timeout: ms, polling: 20 }).catch(() => {});
      return { n: await count() };
    }
    case 'waitvalue': {
      const [id, ms] = [rest[0], Number(rest[1])];
      const text = rest.slice(2).join(' ');
      await page.waitForFunction(([i, t]) => document.getElementById(i).value === t, [id, text],
        { timeout: ms, polling: 20 }).catch(() => {});
      return { value: await page.evaluate((i) => document.getElementById(i).value, id) };
    }
    case 'log':
      return { events: await page.evaluate(() => window.events.splice(0)) };
    case 'set':
      await page.evaluate(([i, t]) => {
        const el = document.getElementById(i);
        el.value = t;
        el.focus();
        el.setSelectionRange(t.length, t.length);
        window.events = [];
      }, [rest[0], rest.slice(1).join(' ')]);
      return {};
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-receiver-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.DESK_CHROMIUM || '/usr/bin/chromium',
      headless: false,
      args: ['--kiosk', '--no-sandbox', '--disable-gpu', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--window-position=0,0', '--password-store=basic'],
      viewport: null,
      timeout: TIMEOUT,
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.setContent(PAGE);
    await page.bringToFront();
    process.stdout.write(JSON.stringify({ ready: true }) + '\n');

    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
      if (line === 'quit') break;
      process.stdout.write(JSON.stringify(await answer(page, line)) + '\n');
    }
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`receiver: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
