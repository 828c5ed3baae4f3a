// An allowlisted interpreter tool of the e2e tests: node's fetch with the
// token vaultd grants as API_TOKEN (Bearer). Prints the server's answer.
// usage: node fetch.js URL
const tok = process.env.API_TOKEN;
if (!tok) { console.log('no token'); process.exit(2); }
fetch(process.argv[2], { headers: { Authorization: `Bearer ${tok}` } })
  .then(async (r) => { console.log((await r.text()).trim()); process.exit(r.ok ? 0 : 1); })
  .catch((e) => { console.log('fetch failed', e.cause ? e.cause.code : e.message); process.exit(1); });
