/**
 * The client side of the WebSocket wire, for clients on bare TCP sockets (test/helpers/
 * tcp-flooder.ts, bench/frame-reader.ts): the upgrade request, masked frames out (a zero key,
 * which the protocol allows and which leaves the payload as it is), whole frames in.
 */

/** The upgrade request for `path` on `host`, with extra header lines (each ending in CRLF). */
export function upgradeRequest(path: string, host: string, key: string, extraHeaders = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${extraHeaders}\r\n`
  );
}

/**
 * Where the server's answer to the upgrade ends in `data`: -1 while it has not all arrived,
 * else the offset of the first frame, with whether the server switched protocols.
 */
export function upgradeAnswer(data: Buffer): { end: number; upgraded: boolean } {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return { end: -1, upgraded: false };
  return { end: end + 4, upgraded: data.subarray(0, 12).toString() === 'HTTP/1.1 101' };
}

/** One final frame of `opcode` carrying `payload`, masked with a zero key. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  let head: Buffer;
  if (n < 126) head = Buffer.from([0x80 | opcode, 0x80 | n]);
  else if (n < 65_536) {
    head = Buffer.alloc(4);
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  head[0] = 0x80 | opcode;
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/**
 * Hands each whole frame at the start of `data` to `onFrame` (its opcode and unmasked payload,
 * a view into `data`); returns how many bytes they took, the rest being a frame not yet whole.
 */
export function readFrames(data: Buffer, onFrame: (opcode: number, payload: Buffer) => void): number {
  let at = 0;
  while (data.length - at >= 2) {
    let length = data[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      length = Number(data.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    if (data.length < start + length) break;
    const opcode = data[at]! & 0x0f;
    at = start + length;
    onFrame(opcode, data.subarray(start, at));
  }
  return at;
}
