'use strict';
/*
 * bench-liveview: deskd's own live view (a link to /vnc/, the WebSocket bridged
 * by deskd) against the Daytona way (websockify's noVNC page on NO_VNC_PORT
 * with the VNC password), in Debian's chromium through playwright-core, against
 * the same running deskd and desktop:
 *
 * - link to first drawn frame: from opening the page (and, the Daytona way,
 *   typing the password) to a canvas of the screen's size that is mostly not
 *   black; N times each, interleaved; p50/p95;
 * - frames per second of the view while an xfce4-terminal scrolls `ls -la
 *   /usr/bin` in a loop (frames: noVNC's draws on its canvas), W windows of 5 s
 *   each, interleaved;
 * - CPU of the relaying process during those windows, from /proc: deskd's (the
 *   bridge; the whole process, which serves nothing else meanwhile) against
 *   websockify's (with the child it forks for the connection). As ms of CPU per
 *   second of wall time.
 *
 * usage: node bench/bench-liveview.js URL TOKEN [N] [W]  (URL: deskd's base address)
 * Starts nothing but the terminal: point it at a deskd that supervises its desktop
 * (scripts/run). Needs the packages of tests/integration and /usr/bin/chromium.
 */
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const mods = path.join(__dirname, '..', 'tests', 'integration', 'node_modules');
const { chromium } = require(path.join(mods, 'playwright-core'));

const [base, token, nArg, wArg] = process.argv.slice(2);
const N = Number(nArg || 7);
const W = Number(wArg || 3);
const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  const i = (p / 100) * (s.length - 1);
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

async function api(method, p, body) {
  const r = await fetch(base + p, { method, headers: auth, body: body && JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/* CPU seconds (user + system) of pid, and with kids of its children, so far (websockify
 * forks one per connection; deskd's children are the desktop itself, not counted). */
function cpu(pid, kids) {
  let total = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let f;
    try {
      f = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
    } catch {
      continue;
    }
    if (Number(d) === pid || (kids && Number(f[1]) === pid)) total += (Number(f[11]) + Number(f[12])) / 100;
  }
  return total;
}

function listenerPid(port) {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  const m = out.match(/pid=(\d+)/);
  if (!m) throw new Error(`no process listens on port ${port}`);
  return Number(m[1]);
}

const CANVAS = { deskd: '#screen canvas', daytona: '#noVNC_container canvas' };

/* Drawn: the canvas has the screen's size and more than frac of its pixels are not black. */
async function drawn(page, sel, frac) {
  await page.waitForFunction(({ s, frac: f }) => {
    const c = document.querySelector(s);
    if (!c || c.width < 64 || c.height < 64) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 16) if (d[i] + d[i + 1] + d[i + 2] > 48) n++;
    return n > (c.width * c.height) / 4 * f;
  }, { s: sel, frac }, { polling: 16, timeout: 60000 });
}

async function open(browser, way, frac = 0.25) {
  const context = await browser.newContext({ viewport: { width: 1700, height: 1000 } });
  const page = await context.newPage();
  let url;
  let password;
  if (way === 'deskd') {
    url = (await api('POST', '/computeruse/vnc/links', { ttlSeconds: 600 })).url;
  } else {
    const v = await api('GET', '/computeruse/vnc');
    url = `${v.url}?autoconnect=true&resize=off&reconnect=false`;
    password = v.password;
  }
  const t0 = performance.now();
  await page.goto(url);
  if (password) {
    await page.waitForSelector('#noVNC_password_input', { state: 'visible' });
    await page.fill('#noVNC_password_input', password);
    await page.click('#noVNC_credentials_button');
  }
  await drawn(page, CANVAS[way], frac);
  return { context, page, ms: performance.now() - t0 };
}

async function frames(page, sel, ms) {
  return page.evaluate(async ({ s, ms: dur }) => {
    const ctx = document.querySelector(s).getContext('2d');
    let n = 0;
    const di = ctx.drawImage;
    const pi = ctx.putImageData;
    ctx.drawImage = function (...a) { n++; return di.apply(this, a); };
    ctx.putImageData = function (...a) { n++; return pi.apply(this, a); };
    // Frames, not draw calls: count the animation frames in which something was drawn.
    let drawnFrames = 0;
    let last = 0;
    const t0 = performance.now();
    await new Promise((resolve) => {
      const tick = () => {
        if (n !== last) { drawnFrames++; last = n; }
        if (performance.now() - t0 < dur) requestAnimationFrame(tick); else resolve();
      };
      requestAnimationFrame(tick);
    });
    ctx.drawImage = di;
    ctx.putImageData = pi;
    return drawnFrames * 1000 / (performance.now() - t0);
  }, { s: sel, ms });
}

async function main() {
  const apiPort = Number(new URL(base).port);
  const v = await api('GET', '/computeruse/vnc');
  const novncPort = Number(new URL(v.url).port);
  const pids = { deskd: listenerPid(apiPort), daytona: listenerPid(novncPort) };
  const browser = await chromium.launch({
    executablePath: process.env.DESK_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const first = { deskd: [], daytona: [] };
  for (let i = 0; i < N; i++) {
    for (const way of ['deskd', 'daytona']) {
      const o = await open(browser, way);
      first[way].push(o.ms);
      await o.context.close();
    }
  }
  // The scrolling terminal.
  const launched = await api('POST', '/computeruse/apps/launch', {
    argv: ['xfce4-terminal', '--maximize', '-x', 'sh', '-c', 'while :; do ls -la /usr/bin; done'],
    waitForWindow: true,
  });
  const fps = { deskd: [], daytona: [] };
  const cpuRate = { deskd: [], daytona: [] };
  for (let w = 0; w < W; w++) {
    for (const way of ['deskd', 'daytona']) {
      // One view at a time, so that x11vnc serves one client.
      // A maximized terminal is mostly black: any drawing will do.
      const o = await open(browser, way, 0.001);
      const c0 = cpu(pids[way], way === 'daytona');
      const t0 = performance.now();
      fps[way].push(await frames(o.page, CANVAS[way], 5000));
      cpuRate[way].push(((cpu(pids[way], way === 'daytona') - c0) * 1000) / ((performance.now() - t0) / 1000));
      await o.context.close();
    }
  }
  await api('POST', `/computeruse/apps/${launched.pid}/kill`);
  await browser.close();

  const row = (name, xs, unit) =>
    `${name.padEnd(44)} ${pct(xs, 50).toFixed(1).padStart(8)} ${pct(xs, 95).toFixed(1).padStart(8)} ${unit}`;
  console.log(`bench-liveview: ${N} opens each, ${W} windows of 5 s each`);
  console.log(`${''.padEnd(44)} ${'p50'.padStart(8)} ${'p95'.padStart(8)}`);
  console.log(row('link to first drawn frame, deskd /vnc/', first.deskd, 'ms'));
  console.log(row('password page to first drawn frame, websockify', first.daytona, 'ms'));
  console.log(row('fps, scrolling terminal, deskd /vnc/', fps.deskd, 'frames/s'));
  console.log(row('fps, scrolling terminal, websockify', fps.daytona, 'frames/s'));
  console.log(row('relay CPU, deskd (whole process)', cpuRate.deskd, 'ms/s'));
  console.log(row('relay CPU, websockify (and its child)', cpuRate.daytona, 'ms/s'));
  console.log(`ratios (websockify / deskd, p50): first frame ${(pct(first.daytona, 50) / pct(first.deskd, 50)).toFixed(2)}x, ` +
    `fps ${(pct(fps.deskd, 50) / pct(fps.daytona, 50)).toFixed(2)}x (deskd / websockify), ` +
    `relay CPU per frame ${((pct(cpuRate.daytona, 50) / pct(fps.daytona, 50)) / (pct(cpuRate.deskd, 50) / pct(fps.deskd, 50))).toFixed(2)}x`);
}

main().catch((err) => { console.error(`bench-liveview: ${err.stack || err}`); process.exit(1); });
