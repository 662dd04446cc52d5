'use strict';
/*
 * a11y-sdk: Daytona's TypeScript SDK's computerUse.accessibility methods
 * against deskd, as test-a11y drives them on the test application (built
 * exactly as sdk.js builds the SDK's objects; see there why).
 *
 * usage: node a11y-sdk.js URL TOKEN PID
 * Prints one JSON line with what each call gave (value or the SDK's error).
 */
const path = require('path');

const sdk = require('@daytonaio/sdk');
const toolbox = require(require.resolve('@daytona/toolbox-api-client', {
  paths: [path.dirname(require.resolve('@daytonaio/sdk'))],
}));

async function outcome(fn) {
  try {
    const value = await fn();
    return { ok: true, value: value === undefined ? null : value };
  } catch (err) {
    return { ok: false, error: { class: err.constructor.name, message: err.message,
      statusCode: err.statusCode ?? null, code: err.code ?? null,
      isDaytonaError: err instanceof sdk.DaytonaError } };
  }
}

async function main() {
  const [url, token, pidText] = process.argv.slice(2);
  const pid = Number(pidText);
  const configuration = new toolbox.Configuration({
    basePath: url,
    baseOptions: { headers: { Authorization: `Bearer ${token}` } },
  });
  const cu = new sdk.ComputerUse(
    new toolbox.ComputerUseApi(configuration, '', sdk.Daytona.createAxiosInstance(30000)));
  const a11y = cu.accessibility;
  const r = {};
  r.tree = await outcome(() => a11y.getTree({ scope: 'pid', pid, maxDepth: 1 }));
  r.findButton = await outcome(
    () => a11y.findNodes({ scope: 'pid', pid, name: 'Press me', nameMatch: 'exact' }));
  r.findEntry = await outcome(
    () => a11y.findNodes({ scope: 'pid', pid, role: 'text', states: ['editable'] }));
  const button = r.findButton.ok && r.findButton.value.matches ? r.findButton.value.matches[0] : null;
  const entry = r.findEntry.ok && r.findEntry.value.matches ? r.findEntry.value.matches[0] : null;
  r.invoke = await outcome(() => a11y.invokeNode(button ? button.id : 'none', 'click'));
  r.value = await outcome(() => a11y.setNodeValue(entry ? entry.id : 'none', 'from the sdk'));
  r.focus = await outcome(() => a11y.focusNode(button ? button.id : 'none'));
  r.badScope = await outcome(() => a11y.getTree({ scope: 'sideways' }));
  r.badId = await outcome(() => a11y.focusNode('no-path'));
  process.stdout.write(JSON.stringify(r) + '\n');
}

main().catch((err) => {
  process.stderr.write(`a11y-sdk.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
