// Checks the calls of tests/fixtures/computer-tools.json against the providers'
// own type definitions, with the TypeScript compiler: each Anthropic input,
// without its "action", must be the input type of the computer toolset member
// of that name (BetaComputer<Action>Input of @anthropic-ai/sdk, whose action
// names are BetaComputerMemberName), a tool_use block a BetaComputerToolUseBlock;
// each OpenAI call a ResponseComputerToolCall, or its action a ComputerAction and
// its actions a ComputerActionList (openai). Every value is written out as an
// object literal, so a misspelt or unknown member is an error too. Entries
// marked "shape": "invalid" (a model's mistake, on purpose) must fail to check.
// Prints "N passed, M failed"; exits 1 on a failure.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ts = require('typescript');

const fixture = JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'computer-tools.json'), 'utf8'));
const pascal = (s) => s.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('');

// One declaration per line, each remembered with its fixture entry.
const lines = [
  "import type * as A from '@anthropic-ai/sdk/resources/beta/messages/messages';",
  "import type * as O from 'openai/resources/responses/responses';",
];
const entries = [];
function declare(name, invalid, text) {
  entries.push({name, invalid, line: lines.length});
  lines.push(text);
}

fixture.anthropic.forEach((c, i) => {
  const invalid = c.shape === 'invalid';
  const name = `anthropic[${i}]`;
  if (c.block) {
    declare(name, invalid, `const a${i}: A.BetaComputerToolUseBlock = ${JSON.stringify(c.block)};`);
    return;
  }
  const {action, ...rest} = c.input;
  declare(name, invalid,
      `const a${i}: A.BetaComputer${pascal(action)}Input = ${JSON.stringify(rest)}; ` +
      `const n${i}: A.BetaComputerMemberName = ${JSON.stringify(action)};`);
});
fixture.openai.forEach((c, i) => {
  const invalid = c.shape === 'invalid';
  const name = `openai[${i}]`;
  const call = c.call;
  if (call.type === 'computer_call')
    declare(name, invalid, `const o${i}: O.ResponseComputerToolCall = ${JSON.stringify(call)};`);
  else if (call.action)
    declare(name, invalid, `const o${i}: O.ComputerAction = ${JSON.stringify(call.action)};`);
  else
    declare(name, invalid, `const o${i}: O.ComputerActionList = ${JSON.stringify(call.actions)};`);
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tool-types-'));
const file = path.join(dir, 'fixtures.ts');
fs.writeFileSync(file, lines.join('\n') + '\n');
const program = ts.createProgram([file], {
  noEmit: true,
  strict: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  baseUrl: __dirname,
  typeRoots: [],
  types: [],
  paths: {'*': [path.join(__dirname, 'node_modules', '*')]},
});
const errors = new Map();
for (const d of ts.getPreEmitDiagnostics(program)) {
  if (!d.file || d.file.fileName !== file) {
    console.log(`not ok: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    errors.set(-1, true);
    continue;
  }
  const {line} = d.file.getLineAndCharacterOfPosition(d.start);
  errors.set(line, ts.flattenDiagnosticMessageText(d.messageText, ' '));
}
fs.rmSync(dir, {recursive: true, force: true});

let passed = 0, failed = errors.has(-1) ? 1 : 0;
for (const e of entries) {
  const err = errors.get(e.line);
  if (e.invalid && !err) {
    console.log(`not ok: ${e.name} is marked invalid but matches the SDK types`);
    failed++;
  } else if (!e.invalid && err) {
    console.log(`not ok: ${e.name}: ${err}`);
    failed++;
  } else {
    passed++;
  }
}
if (entries.length < fixture.anthropic.length + fixture.openai.length) failed++;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
