/** WebSocket close codes the server uses (PROTOCOL.md, "Close codes"). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_LARGE: 1009,
  INTERNAL: 1011,
  SLOW_CONSUMER: 4008,
  RATE_LIMITED: 4029,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client should not reconnect on its own. */
export const terminalCloseCodes: ReadonlySet<number> = new Set([CloseCode.POLICY]);
