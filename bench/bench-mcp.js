'use strict';
/*
 * bench-mcp: what MCP costs over the plain HTTP routes, for the same work, from
 * the same node process against the same deskd: a tool call through the
 * official MCP TypeScript SDK (Client + StreamableHTTPClientTransport, POST
 * /mcp) against the route that tool runs, requested with node's fetch (one
 * kept-alive connection each way). Measures screenshot (JPEG, quality 75) and
 * click, interleaved so both see the same machine load.
 *
 * usage: node bench/bench-mcp.js URL TOKEN [N]   (URL: deskd's base, e.g. http://127.0.0.1:2280)
 * Needs the packages of tests/integration (npm ci --prefix tests/integration).
 * Prints a table: p50 and p95 in ms for each, and the MCP/HTTP ratio of the p50s.
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

  const cases = [
    {
      name: 'screenshot jpeg',
      mcp: async () => {
        const r = await client.callTool({ name: 'screenshot',
          arguments: { format: 'jpeg', quality: 75 } });
        if (r.isError || r.content[0].type !== 'image') throw new Error(JSON.stringify(r));
      },
      http: async () => {
        const res = await fetch(`${base}/computeruse/screenshot/compressed?format=jpeg&quality=75`,
          { headers: auth });
        const j = await res.json();
        if (!res.ok || !j.screenshot) throw new Error(JSON.stringify(j));
      },
    },
    {
      name: 'click',
      mcp: async () => {
        const r = await client.callTool({ name: 'click', arguments: { x: 5, y: 5 } });
        if (r.isError) throw new Error(JSON.stringify(r));
      },
      http: async () => {
        const res = await fetch(`${base}/computeruse/mouse/click`, {
          method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify({ x: 5, y: 5 }),
        });
        await res.json();
        if (!res.ok) throw new Error(String(res.status));
      },
    },
  ];

  console.log(`bench-mcp: ${N} calls each, interleaved, against ${base}`);
  console.log('case              way    p50 ms  p95 ms');
  for (const c of cases) {
    for (let i = 0; i < 10; i++) { await c.mcp(); await c.http(); } // warm-up
    const mcp = [];
    const http = [];
    for (let i = 0; i < N; i++) {
      mcp.push(await timed(c.mcp));
      http.push(await timed(c.http));
    }
    for (const [way, xs] of [['mcp', mcp], ['http', http]])
      console.log(`${c.name.padEnd(17)} ${way.padEnd(5)} ${pct(xs, 50).toFixed(2).padStart(7)}` +
        ` ${pct(xs, 95).toFixed(2).padStart(7)}`);
    console.log(`${c.name.padEnd(17)} ratio mcp/http p50 ${(pct(mcp, 50) / pct(http, 50)).toFixed(2)}`);
  }
  await client.close();
}

main().catch((err) => { console.error(`bench-mcp: ${err.message}`); process.exit(1); });
