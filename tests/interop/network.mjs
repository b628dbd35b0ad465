// No network: the public name the test server answers for (WALLET_PUBLIC_HOST) and loopback resolve to
// 127.0.0.1; every other name fails, so a library that tried to reach the internet would fail the test.
// Import this first: node's fetch (undici) and its http/https modules both look names up through dns.lookup.
import dns from 'node:dns';

// Libraries log to stdout (verifier-core reports a schema it could not fetch); our answer is stdout alone.
console.log = console.error;
console.info = console.error;
console.warn = console.error;

const publicHost = process.env.WALLET_PUBLIC_HOST;
const local = new Set(['localhost', '127.0.0.1', publicHost]);
const systemLookup = dns.lookup;

dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  } else if (typeof options === 'number') {
    options = {family: options};
  }
  if (!local.has(hostname)) {
    const error = new Error(`no network in the interop tests: refused to resolve ${hostname}`);
    error.code = 'ENOTFOUND';
    process.nextTick(callback, error);
    return;
  }
  if (hostname === '127.0.0.1') {
    return systemLookup.call(this, hostname, options, callback);
  }
  if (options && options.all) {
    process.nextTick(callback, null, [{address: '127.0.0.1', family: 4}]);
  } else {
    process.nextTick(callback, null, '127.0.0.1', 4);
  }
};

export async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
