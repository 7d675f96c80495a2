// Runs Go test binaries compiled for GOOS=js GOARCH=wasm ("go test -c")
// inside headless Chromium, on a page of the site (for wasm_exec.js and
// the origin's IndexedDB); run through driver.mjs by TestBrowserGoTests.
//
//   args: URL NAME.test.wasm...
//
// Returns {results: [{name, exit, output}]}.
export default async function ({ browser, args: [url, ...binaries] }) {
  const out = { results: [] };
  const ctx = await browser.newContext();
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
  }
  return out;
}
