import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import type { SocketFactory } from '../sdk/connection.js';

export interface Refusal {
  status: number;
  message: string;
}

const MAX_BODY = 4_096;

/**
 * The `ws` WebSocket, reporting an HTTP refusal of the upgrade (401, 403...) so that a
 * bad token ends the command at once with its reason, instead of reconnecting forever.
 */
export function refusalReportingSocket(onRefused: (refusal: Refusal) => void): SocketFactory {
  class ReportingSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.on('unexpected-response', (_req, res: IncomingMessage) => {
        let body = '';
        let reported = false;
        const report = () => {
          if (reported) return;
          reported = true;
          let message = res.statusMessage ?? `HTTP ${res.statusCode}`;
          try {
            const parsed = JSON.parse(body) as { error?: unknown };
            if (typeof parsed.error === 'string') message = parsed.error;
          } catch {
            // not a JSON body: keep the status text
          }
          onRefused({ status: res.statusCode ?? 0, message });
          this.terminate();
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < MAX_BODY) body += chunk;
        });
        res.once('end', report);
        res.once('close', report);
        res.once('error', report);
      });
    }
  }
  return ReportingSocket;
}
