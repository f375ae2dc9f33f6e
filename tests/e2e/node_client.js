// HTTPS client on node's built-in (statically linked) OpenSSL, for the -p test.
// Prints "ready", waits for a line on stdin, POSTs a body of SIZE bytes
// (argv[3]) to 127.0.0.1:PORT (argv[2]), checks the echo, writes the body
// to argv[4], prints "done" and exits.
const https = require('https');
const crypto = require('crypto');
const fs = require('fs');
const readline = require('readline');

const port = Number(process.argv[2]);
const size = Number(process.argv[3]);
const bodyFile = process.argv[4];
const body = crypto.randomBytes(size);

console.log('ready');
const rl = readline.createInterface({ input: process.stdin });
rl.once('line', () => {
  rl.close();
  const req = https.request({
    host: '127.0.0.1', port, path: '/node', method: 'POST',
    rejectUnauthorized: false,
    headers: { 'Content-Length': size, 'Connection': 'close' },
  }, res => {
    const parts = [];
    res.on('data', d => parts.push(d));
    res.on('end', () => {
      const got = Buffer.concat(parts);
      if (!got.equals(body)) { console.error('echo differs'); process.exit(1); }
      fs.writeFileSync(bodyFile, body);
      console.log('done');
      process.exit(0);
    });
  });
  req.on('error', e => { console.error(e.message); process.exit(1); });
  req.end(body);
});
