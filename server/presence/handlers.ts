import { stringifyJson } from '../../shared/protocol/json.js';
import { checkValueSize } from '../board/handlers/write-common.js';
import type { HandlerTable } from '../extension.js';
import type { PresenceRegistry } from './registry.js';

/** `presence.set`, `presence.clear`. */
export function presenceHandlers(registry: () => PresenceRegistry): HandlerTable {
  return {
    async 'presence.set'(frame, ctx) {
      const metaText = stringifyJson(frame.meta, ctx.lossless);
      checkValueSize(metaText, ctx);
      return registry().set(ctx.session, frame.board, metaText);
    },

    async 'presence.clear'(frame, ctx) {
      return registry().clear(ctx.session, frame.board);
    },
  };
}
