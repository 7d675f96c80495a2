// Runs Go test binaries compiled for GOOS=js GOARCH=wasm ("go test -c")
// inside headless Chromium, on a page of the site (for wasm_exec.js and
// the origin's IndexedDB); run by TestBrowserGoTests.
//
//   node gotest.mjs URL NAME.test.wasm...
//
// Prints {"results": [{"name", "exit", "output"}]}.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, ...binaries] = process.argv.slice(2);
const out = { results: [] };
const userDataDir = mkdtempSync(join(tmpdir(), "vaultdb-chromium-"));
const ctx = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const bin of binaries) {
    const page = await ctx.newPage();
    const lines = [];
    page.on("console", (m) => lines.push(m.text()));
    page.on("pageerror", (e) => lines.push("pageerror: " + e));
    await page.goto(`${url}/?idle=0`);
    await page.waitForFunction(() => typeof Go === "function");
    const exit = await page.evaluate(async (bin) => {
      const go = new Go();
      go.argv = [bin, "-test.v"];
      let code = null;
      go.exit = (c) => { code = c; };
      const { instance } = await WebAssembly.instantiateStreaming(fetch(bin), go.importObject);
      await go.run(instance);
      return code;
    }, bin);
    out.results.push({ name: bin, exit, output: lines.join("\n") });
    await page.close();
  }
} catch (err) {
  out.error = String(err && err.stack || err);
} finally {
  await ctx.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
