'use strict';
/*
 * sdk: what a user of Daytona's TypeScript SDK (@daytonaio/sdk, the version
 * pinned in package.json) sees when its computer-use calls reach deskd, as
 * test-sdk drives it. The script only reports; test-sdk decides what is right,
 * because it knows the truth independently (the screen it painted, the
 * pointer as X reports it, deskd's own error sentences).
 *
 * usage: node sdk.js URL TOKEN PNG_OUT MOVE_X MOVE_Y [MP4_OUT]
 * With MP4_OUT it also runs the recording methods (computerUse.recording) and
 * downloads the recording to MP4_OUT.
 * Prints one JSON line and exits 0; exits 1 with a message on stderr when it
 * cannot even build the SDK's objects.
 *
 * How the SDK is pointed at deskd without Daytona's cloud. A Daytona user
 * writes `sandbox.computerUse`; Sandbox's constructor (cjs/Sandbox.js in the
 * SDK) builds it as
 *     new ComputerUse(new ComputerUseApi(clientConfig, '', axiosInstance))
 * where ComputerUseApi is the generated client of @daytona/toolbox-api-client
 * (a dependency of the SDK, at the same version), clientConfig carries the
 * sandbox's toolbox URL as `basePath` plus an Authorization header in
 * `baseOptions`, and axiosInstance comes from Daytona.createAxiosInstance().
 * That static method is where the SDK turns an HTTP error into its error
 * classes: its response interceptor calls createAxiosDaytonaError(), which
 * picks the class from the body's `source` + `code` (for instance
 * "DAYTONA_DAEMON|PROCESS_NOT_FOUND" -> DaytonaProcessNotFoundError), else
 * from the HTTP status (400 -> DaytonaValidationError, 404 ->
 * DaytonaNotFoundError, 409 -> DaytonaConflictError), and takes the message
 * from the body's `message`, else its `error`. This script builds the same
 * three objects the same way, with deskd's URL as basePath:
 *   - Daytona.createAxiosInstance(ms)       (@daytonaio/sdk, exported class Daytona)
 *   - new Configuration({basePath, baseOptions}) and
 *     new ComputerUseApi(configuration, '', axiosInstance)
 *                                           (@daytona/toolbox-api-client, the copy
 *                                            the SDK itself resolves)
 *   - new ComputerUse(computerUseApi)       (@daytonaio/sdk, exported class ComputerUse)
 * so every call below runs the SDK's own code from ComputerUse down to the
 * socket, and nothing but the Daytona API (which only hands out that URL) is
 * left out. The error classes checked are the SDK's exports.
 */
const fs = require('fs');
const path = require('path');

const sdk = require('@daytonaio/sdk');
const sdkVersion = require('@daytonaio/sdk/package.json').version;
// The generated client exactly as the SDK loads it (not a copy npm may have
// placed elsewhere).
const toolbox = require(require.resolve('@daytona/toolbox-api-client', {
  paths: [path.dirname(require.resolve('@daytonaio/sdk'))],
}));

// The SDK's error classes a caller would test with instanceof.
const CLASSES = ['DaytonaError', 'DaytonaNotFoundError', 'DaytonaProcessNotFoundError',
  'DaytonaBadRequestError', 'DaytonaValidationError', 'DaytonaInvalidArgumentError',
  'DaytonaConflictError', 'DaytonaConnectionError', 'DaytonaServiceUnavailableError',
  'DaytonaRecordingStillActiveError', 'DaytonaRecordingFfmpegNotFoundError'];

function describeError(err) {
  const d = {
    class: err && err.constructor ? err.constructor.name : typeof err,
    message: err && err.message,
    statusCode: err ? err.statusCode : undefined,
    code: err ? err.code : undefined,
    source: err ? err.source : undefined,
    instanceOf: CLASSES.filter((name) => typeof sdk[name] === 'function' && err instanceof sdk[name]),
  };
  for (const k of Object.keys(d)) if (d[k] === undefined) d[k] = null;
  return d;
}

// {ok: true, value} or {ok: false, error: {...}}: both are facts to report.
async function outcome(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

// Every method of computerUse.recording, as a user calls them in turn.
async function recordings(rec, mp4Out) {
  const r = {};
  r.start = await outcome(() => rec.start('sdk run'));
  r.startNoLabel = await outcome(() => rec.start());
  r.badLabel = await outcome(() => rec.start('../escape'));
  const id = r.start.ok ? r.start.value.id : 'none';
  const id2 = r.startNoLabel.ok ? r.startNoLabel.value.id : 'none';
  // The length of the recording: a second and a half of video.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  r.list = await outcome(() => rec.list());
  r.get = await outcome(() => rec.get(id));
  r.deleteActive = await outcome(() => rec.delete(id));
  r.stop = await outcome(() => rec.stop(id));
  r.stopNoLabel = await outcome(() => rec.stop(id2));
  r.download = await outcome(() => rec.download(id, mp4Out));
  r.deleteNoLabel = await outcome(() => rec.delete(id2));
  r.delete = await outcome(() => rec.delete(id));
  r.getDeleted = await outcome(() => rec.get(id));
  r.listAfter = await outcome(() => rec.list());
  return r;
}

async function main() {
  const [url, token, pngOut, mxs, mys, mp4Out] = process.argv.slice(2);
  if (!url || !token || !pngOut || mxs === undefined || mys === undefined) {
    throw new Error('usage: node sdk.js URL TOKEN PNG_OUT MOVE_X MOVE_Y');
  }
  const axiosInstance = sdk.Daytona.createAxiosInstance(30000);
  const configuration = new toolbox.Configuration({
    basePath: url,
    baseOptions: { headers: { Authorization: `Bearer ${token}` } },
  });
  const computerUse = new sdk.ComputerUse(new toolbox.ComputerUseApi(configuration, '', axiosInstance));

  const report = { sdkVersion };
  // Errors: deskd's answer as the SDK's classes.
  report.processNotFound = await outcome(() => computerUse.getProcessStatus('foo'));
  report.badRegion = await outcome(
    () => computerUse.screenshot.takeRegion({ x: 0, y: 0, width: 0, height: 10 }));
  report.badClick = await outcome(() => computerUse.mouse.click(2000000.5, 2));
  report.restartAttached = await outcome(() => computerUse.restartProcess('xvfb'));

  // Successes, as the SDK parses them.
  const shot = await outcome(() => computerUse.screenshot.takeFullScreen());
  if (shot.ok) {
    const png = Buffer.from(shot.value.screenshot, 'base64');
    fs.writeFileSync(pngOut, png);
    const v = shot.value;
    report.screenshot = { ok: true, value: { width: v.width, height: v.height, format: v.format,
      sizeBytes: v.sizeBytes, decodedBytes: png.length } };
  } else {
    report.screenshot = shot;
  }
  report.move = await outcome(() => computerUse.mouse.move(Number(mxs), Number(mys)));
  report.position = await outcome(() => computerUse.mouse.getPosition());
  report.xvfb = await outcome(() => computerUse.getProcessStatus('xvfb'));
  report.status = await outcome(() => computerUse.getStatus());
  if (mp4Out) report.recording = await recordings(computerUse.recording, mp4Out);

  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((err) => {
  process.stderr.write(`sdk.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
