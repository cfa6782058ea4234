import { connect } from 'node:net';

/**
 * Sends bytes exactly as given over a fresh TCP connection and returns the status of the
 * first response line (0 when the server closed without answering). For requests no HTTP
 * client would send: `//` targets, broken escapes, very long paths.
 */
export function rawHttpStatus(port: number, request: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = (status: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => done(0), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const line = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      if (line) done(Number(line[1]));
    });
    socket.on('error', () => done(0));
    socket.on('close', () => done(0));
    socket.on('connect', () => socket.write(request));
  });
}

/** A WebSocket upgrade request for `target`, byte for byte. */
export function upgradeRequest(target: string): string {
  return (
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
  );
}

/** A plain GET for `target`, byte for byte. */
export function getRequest(target: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
}
