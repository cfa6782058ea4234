import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Between Node's http objects and the Fetch API's Request/Response that the MCP SDK's
 * web-standard transport speaks. Bodies stream both ways; an SSE response whose client
 * reads too slowly is cut once `maxBuffered` bytes wait for it (the client reconnects with
 * `Last-Event-ID` and loses nothing), so a stuck reader cannot grow the node's memory.
 */

export function toWebRequest(req: IncomingMessage, url: URL, body?: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return new Request(url, { method: req.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) });
}

/** Reads a request body up to `max` bytes; null when it is larger. */
export async function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Writes a web Response to Node's response. The head goes out with the first chunk, and what
 * follows within one turn of the event loop (a reply, the end of its stream) goes out in one
 * write with it: a tool call's reply is one packet, not four. `flushHead`: send the head at
 * once (a notification stream may wait long for its first event).
 */
export async function sendWebResponse(res: ServerResponse, response: Response, maxBuffered: number, flushHead = false): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  if (flushHead) res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  res.once('close', cancel);
  let corked = false;
  const batch = () => {
    if (corked) return;
    corked = true;
    res.cork();
    setImmediate(() => {
      corked = false;
      res.uncork();
    });
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      batch();
      res.write(value);
      if (res.writableLength > maxBuffered) {
        res.destroy();
        return;
      }
    }
    batch();
    res.end();
  } catch {
    res.destroy();
  } finally {
    res.off('close', cancel);
    cancel();
  }
}
