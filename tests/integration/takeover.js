'use strict';
/*
 * takeover: a person taking over the desktop in a browser, as test-takeover
 * drives it. Opens deskd's noVNC page in headless Chromium (the system's,
 * never a downloaded one) with a fresh profile, types the VNC password into
 * noVNC's dialog, waits until the canvas shows the desktop, then clicks at a
 * framebuffer position and types a key.
 *
 * usage: node takeover.js URL PASSWORD X Y KEYS
 * Prints one JSON line: {"width","height","nonBlack","samples":[[x,y,r,g,b]...],"clicked":[x,y]}
 * then waits for a line on stdin (the test saw the events) before closing
 * the browser, so nothing is cut off in flight. Exits 1 with a message on error.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');
const { drawnCanvas } = require('./canvas');

const TIMEOUT = 20000;

async function main() {
  const [url, password, xs, ys, keys] = process.argv.slice(2);
  const x = Number(xs);
  const y = Number(ys);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.DESK_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1700, height: 1000 },
      timeout: TIMEOUT,
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    // resize=off: the canvas is the framebuffer, pixel for pixel.
    await page.goto(`${url}?autoconnect=true&resize=off&reconnect=false`);
    await page.waitForSelector('#noVNC_password_input', { state: 'visible' });
    await page.fill('#noVNC_password_input', password);
    await page.click('#noVNC_credentials_button');

    // Connected and drawn: the canvas has the screen's size and is not black.
    const result = await drawnCanvas(page, '#noVNC_container canvas', 100);

    // A click where the test's X client is, in page coordinates.
    const box = await page.evaluate(() => {
      const c = document.querySelector('#noVNC_container canvas');
      const r = c.getBoundingClientRect();
      return { left: r.left, top: r.top, w: r.width, h: r.height, cw: c.width, ch: c.height };
    });
    const px = box.left + (x + 0.5) * box.w / box.cw;
    const py = box.top + (y + 0.5) * box.h / box.ch;
    await page.mouse.click(px, py);
    await page.keyboard.type(keys);
    result.clicked = [x, y];
    process.stdout.write(JSON.stringify(result) + '\n');

    // Keep the connection until the test has seen the events (or gives up).
    await new Promise((resolve) => {
      const rl = readline.createInterface({ input: process.stdin });
      const timer = setTimeout(resolve, TIMEOUT);
      rl.once('line', () => { clearTimeout(timer); resolve(); });
      rl.once('close', () => { clearTimeout(timer); resolve(); });
    });
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`takeover: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
