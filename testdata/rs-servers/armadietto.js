// Starts armadietto's classic (monolithic) server for the Go tests, bound to
// 127.0.0.1 on a free port, storing its files under the directory given as
// the first argument. Sign-ups are allowed (the tests create their accounts
// with POST /signup). Prints {"port":N} on one line once it listens, and
// exits when its stdin closes, so a test that dies leaves no server behind.
'use strict';
const path = require('path');
const Armadietto = require('armadietto');

const dir = process.argv[2];
if (!dir || !path.isAbsolute(dir)) {
  console.error('usage: node armadietto.js /absolute/storage/dir');
  process.exit(2);
}
process.umask(0o077);

const store = new Armadietto.FileTree({ path: dir });
const server = new Armadietto({
  store,
  http: { host: '127.0.0.1', port: 0 },
  https: {},
  allow: { signup: true },
  // Quiet: no log files in the working directory, nothing on stdout but
  // the port line.
  logging: { log_dir: dir, stdout: [], log_files: [] },
  cacheViews: true
});

(async () => {
  const { _http: http } = await server._server;
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: http.address().port }) + '\n');
  });
})();

process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
