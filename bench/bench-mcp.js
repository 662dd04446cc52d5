'use strict';
/*
 * bench-mcp: what MCP and the model tool adapters cost over the plain HTTP
 * routes, for the same work, from the same node process against the same
 * deskd: a tool call through the official MCP TypeScript SDK (Client +
 * StreamableHTTPClientTransport, POST /mcp), and the same through POST
 * /computeruse/tools/anthropic and /openai, against the route that does the
 * work, requested with node's fetch (kept-alive connections). Measures
 * screenshot (JPEG, quality 75, the whole screen at its size: the adapters'
 * display is the screen's), click (the adapters' without an image), and a
 * click answered with a PNG at the default 1024-wide display (the adapters'
 * default answer, settle off; the route: a batch that observes), interleaved
 * so all ways see the same machine load.
 *
 * usage: node bench/bench-mcp.js URL TOKEN [N]   (URL: deskd's base, e.g. http://127.0.0.1:2280)
 * Needs the packages of tests/integration (npm ci --prefix tests/integration).
 * Prints a table: p50 and p95 in ms for each way, and each way's p50 over the route's.
 */
const path = require('path');

const mods = path.join(__dirname, '..', 'tests', 'integration', 'node_modules');
const { Client } = require(path.join(mods, '@modelcontextprotocol/sdk/dist/cjs/client/index.js'));
const { StreamableHTTPClientTransport } =
  require(path.join(mods, '@modelcontextprotocol/sdk/dist/cjs/client/streamableHttp.js'));

const [base, token, nArg] = process.argv.slice(2);
const N = Number(nArg || 200);
const auth = { Authorization: `Bearer ${token}` };

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main() {
  const client = new Client({ name: 'bench-mcp', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`),
    { requestInit: { headers: auth } }));

  const post = async (route, body) => {
    const res = await fetch(`${base}${route}`, {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const j = await res.json();
    if (!res.ok) throw new Error(`${route}: ${res.status} ${JSON.stringify(j)}`);
    return j;
  };
  const tool = async (name, args) => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(JSON.stringify(r));
    return r;
  };
  const anthropic = async (body) => {
    const j = await post('/computeruse/tools/anthropic', body);
    if (j.is_error) throw new Error(JSON.stringify(j.content));
    return j;
  };
  const openai = async (body) => {
    const j = await post('/computeruse/tools/openai', body);
    if (j.error || !j.output.image_url) throw new Error(j.error);
    return j;
  };
  const info = await (await fetch(`${base}/computeruse/display/info`, { headers: auth })).json();
  const screen = { width: info.primary_display.width, height: info.primary_display.height };
  const jpeg = { format: 'jpeg', quality: 75, display: screen };

  const cases = [
    {
      name: 'screenshot jpeg',
      http: async () => {
        const res = await fetch(`${base}/computeruse/screenshot/compressed?format=jpeg&quality=75`,
          { headers: auth });
        const j = await res.json();
        if (!res.ok || !j.screenshot) throw new Error(JSON.stringify(j));
      },
      mcp: () => tool('screenshot', { format: 'jpeg', quality: 75 }),
      anthropic: () => anthropic({ action: 'screenshot', ...jpeg }),
      openai: () => openai({ action: { type: 'screenshot' }, ...jpeg }),
    },
    {
      name: 'click',
      http: () => post('/computeruse/mouse/click', { x: 5, y: 5 }),
      mcp: () => tool('click', { x: 5, y: 5 }),
      anthropic: () => anthropic({ action: 'left_click', coordinate: [5, 5], display: screen,
        screenshot: false }),
    },
    {
      name: 'click + png',
      http: () => post('/computeruse/actions', { actions: [{ type: 'click', x: 5, y: 5 }],
        observe: { screenshot: { format: 'png', fit: 'xga' } } }),
      anthropic: () => anthropic({ action: 'left_click', coordinate: [5, 5], settle: false }),
      openai: () => openai({ action: { type: 'click', button: 'left', x: 5, y: 5 },
        settle: false }),
    },
  ];

  console.log(`bench-mcp: ${N} calls each, interleaved, against ${base} (screen ` +
    `${screen.width}x${screen.height})`);
  console.log('case              way        p50 ms  p95 ms  p50/http');
  for (const c of cases) {
    const ways = ['http', 'mcp', 'anthropic', 'openai'].filter((w) => c[w]);
    for (let i = 0; i < 10; i++) for (const w of ways) await c[w](); // warm-up
    const ms = Object.fromEntries(ways.map((w) => [w, []]));
    for (let i = 0; i < N; i++) for (const w of ways) ms[w].push(await timed(c[w]));
    for (const w of ways)
      console.log(`${c.name.padEnd(17)} ${w.padEnd(9)} ${pct(ms[w], 50).toFixed(2).padStart(7)}` +
        ` ${pct(ms[w], 95).toFixed(2).padStart(7)}` +
        ` ${(pct(ms[w], 50) / pct(ms.http, 50)).toFixed(2).padStart(9)}`);
  }
  await client.close();
}

main().catch((err) => { console.error(`bench-mcp: ${err.message}`); process.exit(1); });
