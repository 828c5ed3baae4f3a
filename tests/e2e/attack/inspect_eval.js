// The agent's own inspector client: connects to a node inspector at
// 127.0.0.1:PORT (argv[2]) and evaluates EXPR (argv[3]) in the target,
// printing the result. Minimal websocket framing over net, no packages.
const net = require('net'), http = require('http'), crypto = require('crypto');
const [port, expr] = [process.argv[2], process.argv[3]];
http.get({ host: '127.0.0.1', port, path: '/json/list' }, (res) => {
  let body = ''; res.on('data', (d) => body += d);
  res.on('end', () => {
    const url = new URL(JSON.parse(body)[0].webSocketDebuggerUrl);
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET ${url.pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
        `Sec-WebSocket-Version: 13\r\n\r\n`);
    });
    let buf = Buffer.alloc(0), upgraded = false;
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const i = buf.indexOf('\r\n\r\n'); if (i < 0) return;
        buf = buf.subarray(i + 4); upgraded = true;
        const msg = Buffer.from(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression: expr } }));
        const mask = crypto.randomBytes(4), hdr = msg.length < 126 ? Buffer.from([0x81, 0x80 | msg.length])
          : Buffer.from([0x81, 0x80 | 126, msg.length >> 8, msg.length & 255]);
        s.write(Buffer.concat([hdr, mask, Buffer.from(msg.map((b, j) => b ^ mask[j % 4]))]));
      }
      if (buf.length < 2) return;
      let len = buf[1] & 127, off = 2;
      if (len === 126) { len = buf.readUInt16BE(2); off = 4; }
      if (buf.length < off + len) return;
      console.log('inspector:', buf.subarray(off, off + len).toString()); s.destroy(); process.exit(0);
    });
  });
}).on('error', (e) => { console.log('inspector unreachable:', e.code); process.exit(1); });
setTimeout(() => { console.log('inspector timeout'); process.exit(1); }, 8000);
