'use strict';
/*
 * mcp: an MCP client built from the official TypeScript SDK
 * (@modelcontextprotocol/sdk, pinned in package.json), as test-mcp drives it.
 * It only reports what the SDK's user sees; test-mcp decides what is right.
 *
 * usage: node mcp.js http URL TOKEN      Streamable HTTP to URL (deskd's /mcp)
 *        node mcp.js stdio CLI URL TOKEN  stdio to `CLI mcp --url URL --token TOKEN`
 * Reads one command per line on stdin, answers one JSON line on stdout:
 *   {"op":"noauth"}   connects without the token (stdio: with a wrong one) -> {"ok":false,"error"}
 *   {"op":"connect"}  -> {"ok":true,"server":{name,version},"protocolVersion"}
 *   {"op":"list"}     -> {"ok":true,"tools":[...]}
 *   {"op":"call","name":N,"arguments":{...}}  -> {"ok":true,"result":CallToolResult,"ms"}
 *   {"op":"time","name":N,"arguments":{...},"n":K}  -> {"ok":true,"ms":[K round trips]}
 * A rejected SDK call answers {"ok":false,"error":message}. Ends at end of input.
 */
const readline = require('readline');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } =
  require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

const [mode, ...rest] = process.argv.slice(2);

function transport(withToken) {
  if (mode === 'stdio') {
    const [cli, url, token] = rest;
    return new StdioClientTransport({
      command: cli, args: ['mcp', '--url', url, '--token', withToken ? token : 'wrong'],
      stderr: 'ignore',
    });
  }
  const [url, token] = rest;
  const headers = withToken ? { Authorization: `Bearer ${token}` } : {};
  return new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
}

let client = null;

async function run(cmd) {
  switch (cmd.op) {
    case 'noauth': {
      const c = new Client({ name: 'desk-test', version: '1.0.0' });
      try {
        await c.connect(transport(false));
        await c.close();
        return { ok: true };
      } catch (err) {
        return { ok: false, error: String(err && err.message) };
      }
    }
    case 'connect':
      client = new Client({ name: 'desk-test', version: '1.0.0' });
      await client.connect(transport(true));
      return {
        ok: true,
        server: client.getServerVersion(),
        protocolVersion: client.transport.protocolVersion ?? null,
      };
    case 'list':
      return { ok: true, tools: (await client.listTools()).tools };
    case 'call': {
      const t0 = process.hrtime.bigint();
      const result = await client.callTool({ name: cmd.name, arguments: cmd.arguments || {} });
      return { ok: true, result, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
    }
    case 'time': {
      const ms = [];
      for (let i = 0; i < cmd.n; i++) {
        const t0 = process.hrtime.bigint();
        const r = await client.callTool({ name: cmd.name, arguments: cmd.arguments || {} });
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.isError) return { ok: false, error: JSON.stringify(r.content) };
      }
      return { ok: true, ms };
    }
    default:
      return { ok: false, error: `unknown op ${cmd.op}` };
  }
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let answer;
    try {
      answer = await run(JSON.parse(line));
    } catch (err) {
      answer = { ok: false, error: String(err && err.message) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
rl.on('close', () => {
  chain.then(async () => {
    if (client) await client.close();
  });
});
