'use strict';
/*
 * liveview: a person (or a tampered page) on deskd's own live view, as
 * test-liveview drives it. Headless Chromium (the system's) through
 * playwright-core; one browser context per name, so that each page keeps its
 * own link cookie. Commands arrive as JSON lines on stdin, each answered by a
 * JSON line on stdout:
 *
 *   {"cmd":"open","name","url"}        page loads and draws: {"status","ms","width","height",
 *                                      "samples":[[x,y,r,g,b]...]} ({"status"} when not 200)
 *   {"cmd":"click","name","x","y"}     a click at a framebuffer position, through noVNC
 *   {"cmd":"type","name","keys"}       keys typed into the page
 *   {"cmd":"take"|"give","name"}       the page's Take control / Give back button: {"holder"}
 *   {"cmd":"buttons","name"}           which control buttons show: {"take","give"}
 *   {"cmd":"raw","name","x","y","text"} the page's script opens its own WebSocket and sends a
 *                                      KeyEvent, a click and a ClientCutText, then a
 *                                      FramebufferUpdateRequest: {"answered","closed"}
 *   {"cmd":"malformed","name"}         its own WebSocket sends an unknown message type:
 *                                      {"code","ms"} of the close
 *   {"cmd":"box","name","x","y","w","h"} the canvas's pixels there: {"sum"} of every channel
 *   {"cmd":"state","name"}             {"state"}: connecting, connected or disconnected
 *   {"cmd":"waitclosed","name"}        waits for the view to disconnect: {"at"} (wall ms)
 *   {"cmd":"vncauth","name","url","ms"} wrong VNC passwords on the noVNC port's WebSocket (url)
 *                                      for ms: {"attempts","failures","refused"}
 *   {"cmd":"fps","name","ms"}          counts frames noVNC drew during ms: {"frames","fps"}
 * It ends when its stdin does.
 */
const readline = require('readline');
const { chromium } = require('playwright-core');
const { drawnCanvas } = require('./canvas');

const TIMEOUT = 20000;
const pages = {};

// The view drawn: liveview's page puts noVNC's canvas in #screen.
function drawn(page) {
  return drawnCanvas(page, '#screen canvas', 50);
}

// In the page: a WebSocket of the page's own on /vnc/websockify, through the RFB handshake.
const RAW = `
window.deskRaw = async function () {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
    '/vnc/websockify');
  ws.binaryType = 'arraybuffer';
  let buf = new Uint8Array(0);
  const waiters = [];
  const pump = () => {
    while (waiters.length && buf.length >= waiters[0].n) {
      const w = waiters.shift();
      w.resolve(buf.slice(0, w.n));
      buf = buf.slice(w.n);
    }
  };
  ws.onmessage = (e) => {
    const d = new Uint8Array(e.data);
    const n = new Uint8Array(buf.length + d.length);
    n.set(buf); n.set(d, buf.length); buf = n; pump();
  };
  const closed = new Promise((r) => ws.addEventListener('close', (e) => r({ code: e.code, at: Date.now() })));
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
  const read = (n) => new Promise((resolve) => { waiters.push({ n, resolve }); pump(); });
  await read(12);
  ws.send(new TextEncoder().encode('RFB 003.008\\n'));
  const ntypes = (await read(1))[0];
  await read(ntypes);
  ws.send(new Uint8Array([1]));
  await read(4);
  ws.send(new Uint8Array([1]));
  const init = await read(24);
  await read(new DataView(init.buffer).getUint32(20));
  return { ws, read, closed, pending: () => buf.length };
};`;

function u16(v) { return [(v >> 8) & 255, v & 255]; }
function u32(v) { return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]; }

async function handle(m) {
  const p = pages[m.name];
  switch (m.cmd) {
    case 'open': {
      if (!pages[m.name]) {
        const context = await browser.newContext({ viewport: { width: 1700, height: 1000 } });
        const page = await context.newPage();
        page.setDefaultTimeout(TIMEOUT);
        pages[m.name] = { context, page };
      }
      const page = pages[m.name].page;
      const t0 = Date.now();
      const resp = await page.goto(m.url);
      if (resp.status() !== 200) return { status: resp.status() };
      const r = await drawn(page);
      r.ms = Date.now() - t0;
      r.status = 200;
      await page.addScriptTag({ content: RAW });
      return r;
    }
    case 'click': {
      const box = await p.page.evaluate(() => {
        const c = document.querySelector('#screen canvas');
        const r = c.getBoundingClientRect();
        return { left: r.left, top: r.top, w: r.width, h: r.height, cw: c.width, ch: c.height };
      });
      await p.page.mouse.click(box.left + (m.x + 0.5) * box.w / box.cw,
        box.top + (m.y + 0.5) * box.h / box.ch);
      return {};
    }
    case 'type':
      await p.page.keyboard.type(m.keys);
      return {};
    case 'take':
    case 'give': {
      const want = m.cmd === 'take' ? 'human' : 'agent';
      // The button's own click, without moving the page's mouse across noVNC's canvas (that
      // would move the desktop's pointer under the test's next API click).
      await p.page.$eval(m.cmd === 'take' ? '#take' : '#give', (b) => b.click());
      await p.page.waitForFunction((w) => document.body.dataset.holder === w, want, { polling: 50 });
      return { holder: want };
    }
    case 'buttons':
      return p.page.evaluate(() => ({ take: !document.getElementById('take').hidden,
        give: !document.getElementById('give').hidden }));
    case 'raw': {
      const msgs = [
        [4, 1, 0, 0, ...u32(0x7a)], [4, 0, 0, 0, ...u32(0x7a)], // KeyEvent 'z' down, up
        [5, 1, ...u16(m.x), ...u16(m.y)], [5, 0, ...u16(m.x), ...u16(m.y)], // a left click
        [6, 0, 0, 0, ...u32(m.text.length), ...Buffer.from(m.text, 'latin1')], // ClientCutText
        [3, 0, 0, 0, 0, 0, 0, 1, 0, 1], // FramebufferUpdateRequest of one pixel
      ];
      return p.page.evaluate(async (list) => {
        const s = await window.deskRaw();
        for (const b of list) s.ws.send(new Uint8Array(b));
        const answered = await Promise.race([s.read(1).then(() => true),
          s.closed.then(() => false)]);
        const closed = await Promise.race([s.closed.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 100))]);
        s.ws.close();
        return { answered, closed };
      }, msgs);
    }
    case 'malformed':
      return p.page.evaluate(async () => {
        const s = await window.deskRaw();
        const t0 = Date.now();
        s.ws.send(new Uint8Array([99, 0, 0, 0]));
        const c = await s.closed;
        return { code: c.code, ms: c.at - t0 };
      });
    case 'box':
      return p.page.evaluate(({ x, y, w, h }) => {
        const c = document.querySelector('#screen canvas');
        const d = c.getContext('2d').getImageData(x, y, w, h).data;
        let sum = 0;
        for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
        return { sum };
      }, m);
    case 'state':
      return { state: await p.page.evaluate(() => document.body.dataset.state) };
    case 'waitclosed': {
      const at = await p.page.evaluate(() => new Promise((resolve) => {
        if (document.body.dataset.state === 'disconnected') resolve(Date.now());
        window.deskRfb.addEventListener('disconnect', () => resolve(Date.now()));
      }));
      return { at };
    }
    case 'vncauth':
      return p.page.evaluate(async ({ url, ms }) => {
        const out = { attempts: 0, failures: 0, refused: 0 };
        const end = Date.now() + ms;
        while (Date.now() < end) {
          out.attempts++;
          const ws = new WebSocket(url, ['binary']);
          ws.binaryType = 'arraybuffer';
          let buf = new Uint8Array(0);
          let waiter = null;
          let closed = false;
          const check = () => {
            if (waiter && (buf.length >= waiter.n || closed)) {
              const w = waiter;
              waiter = null;
              if (buf.length >= w.n) { const r = buf.slice(0, w.n); buf = buf.slice(w.n); w.resolve(r); } else w.resolve(null);
            }
          };
          ws.onmessage = (e) => {
            const d = new Uint8Array(e.data);
            const n = new Uint8Array(buf.length + d.length);
            n.set(buf); n.set(d, buf.length); buf = n; check();
          };
          ws.onclose = () => { closed = true; check(); };
          const read = (n) => new Promise((resolve) => { waiter = { n, resolve }; check(); });
          const opened = await new Promise((res) => { ws.onopen = () => res(true); ws.onerror = () => res(false); });
          let result = opened ? await read(12) : null;
          if (result) { ws.send(new TextEncoder().encode('RFB 003.008\n')); result = await read(1); }
          if (result) result = await read(result[0]);
          if (result) { ws.send(new Uint8Array([2])); result = await read(16); }
          if (result) { ws.send(new Uint8Array(16)); result = await read(4); }
          if (result && (result[0] | result[1] | result[2] | result[3]) !== 0) out.failures++;
          else out.refused++;
          ws.close();
        }
        return out;
      }, { url: m.url, ms: m.ms });
    case 'fps':
      return p.page.evaluate(async (ms) => {
        const c = document.querySelector('#screen canvas');
        const ctx = c.getContext('2d');
        // A frame is noVNC's flip of its back buffer onto the canvas: count the draws.
        let frames = 0;
        const orig = ctx.drawImage.bind(ctx);
        const origPut = ctx.putImageData.bind(ctx);
        ctx.drawImage = (...a) => { frames++; return orig(...a); };
        ctx.putImageData = (...a) => { frames++; return origPut(...a); };
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, ms));
        const dt = performance.now() - t0;
        ctx.drawImage = orig;
        ctx.putImageData = origPut;
        return { frames, fps: frames * 1000 / dt };
      }, m.ms);
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

let browser;
async function main() {
  browser = await chromium.launch({
    executablePath: process.env.DESK_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: TIMEOUT,
  });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    let out;
    try {
      out = await handle(JSON.parse(line));
    } catch (err) {
      out = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  await browser.close();
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`liveview: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
