// Runs Go test binaries compiled for GOOS=js GOARCH=wasm ("go test -c")
// inside headless Chromium, on a page of the site (for wasm_exec.js and
// the origin's storage); run through driver.mjs by TestBrowserGoTests.
//
//   args: URL; input: {binaries: [{name, run}], config}
//
// Each binary runs on a fresh page with -test.v and, if given,
// -test.run=RUN; config (servers and tokens for the adapters that need
// them) is globalThis.vaultdbTest. Returns {results: [{name, exit, output}]}.
export default async function ({ browser, args: [url], input }) {
  const out = { results: [] };
  const ctx = await browser.newContext();
  try {
    for (const bin of input.binaries) {
      const page = await ctx.newPage();
      const lines = [];
      page.on("console", (m) => lines.push(m.text()));
      page.on("pageerror", (e) => lines.push("pageerror: " + e));
      await page.goto(`${url}/?idle=0`);
      await page.waitForFunction(() => typeof Go === "function");
      const exit = await page.evaluate(async ({ bin, config }) => {
        globalThis.vaultdbTest = config;
        const go = new Go();
        go.argv = [bin.name, "-test.v"].concat(bin.run ? ["-test.run=" + bin.run] : []);
        let code = null;
        go.exit = (c) => { code = c; };
        const { instance } = await WebAssembly.instantiateStreaming(fetch(bin.name), go.importObject);
        await go.run(instance);
        return code;
      }, { bin, config: input.config || {} });
      out.results.push({ name: bin.name, exit, output: lines.join("\n") });
      await page.close();
    }
  } catch (err) {
    out.error = String(err && err.stack || err);
  } finally {
    await ctx.close();
  }
  return out;
}
