// HTTPS GET on node's built-in (statically linked) OpenSSL, at once: for the
// test of a program started after tlstap. Fetches URL (argv[2]) with
// certificate checks off (a test certificate on 127.0.0.1), writes the body
// to argv[3] and exits 0.
const https = require('https');
const fs = require('fs');

https.get(process.argv[2], { rejectUnauthorized: false, agent: false }, res => {
  const parts = [];
  res.on('data', d => parts.push(d));
  res.on('end', () => {
    fs.writeFileSync(process.argv[3], Buffer.concat(parts));
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
}).on('error', e => { console.error(e.message); process.exit(1); });
