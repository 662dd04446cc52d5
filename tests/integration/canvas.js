'use strict';
/*
 * canvas: waits until a noVNC page's canvas shows a desktop and samples it,
 * for the browser tests (liveview.js, takeover.js). "Drawn" is: the canvas at
 * least 64x64, and a quarter or more of its pixels not black. The samples are
 * the centres of a 16x9 grid, [x, y, r, g, b] each, in canvas (framebuffer)
 * pixels, which the C side compares with deskd's own screenshot.
 */

// Resolves with {width, height, nonBlack, samples} once the canvas under selector is drawn.
async function drawnCanvas(page, selector, pollMs) {
  const handle = await page.waitForFunction((sel) => {
    const c = document.querySelector(sel);
    if (!c || c.width < 64 || c.height < 64) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let nonBlack = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 48) nonBlack++;
    if (nonBlack < (c.width * c.height) / 4) return null;
    const samples = [];
    for (let gy = 0; gy < 9; gy++) {
      for (let gx = 0; gx < 16; gx++) {
        const sx = Math.floor((gx + 0.5) * c.width / 16);
        const sy = Math.floor((gy + 0.5) * c.height / 9);
        const o = (sy * c.width + sx) * 4;
        samples.push([sx, sy, d[o], d[o + 1], d[o + 2]]);
      }
    }
    return { width: c.width, height: c.height, nonBlack, samples };
  }, selector, { polling: pollMs });
  return handle.jsonValue();
}

module.exports = { drawnCanvas };
