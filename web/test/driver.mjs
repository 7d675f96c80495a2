// One headless Chromium for all the browser tests of a Go test binary
// (web/browser_test.go starts this once and stops it when the tests end):
// launching a browser per test cost seconds each on a loaded machine.
//
//   node driver.mjs
//
// Reads requests as JSON lines on stdin, {"script": "browser.mjs", "args":
// [...], "input": {...}}, runs the default export of that script in
// web/test with {browser, args, input}, and answers each with one line
// "RESULT <json>" on stdout: the object the script returned, or {"error"}.
// Secrets (tokens, passphrases) come in "input", never in argv or the
// environment. Env: CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
process.stdout.write("READY\n");

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let res;
  try {
    const req = JSON.parse(line);
    if (!/^[a-z-]+\.mjs$/.test(req.script)) throw new Error(`no such script ${req.script}`);
    const mod = await import(`./${req.script}`);
    res = await mod.default({ browser, args: req.args || [], input: req.input || {} });
  } catch (err) {
    res = { error: String(err && err.stack || err) };
  }
  process.stdout.write("RESULT " + JSON.stringify(res) + "\n");
}
await browser.close();
