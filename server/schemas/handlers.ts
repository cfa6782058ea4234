import type { HandlerTable } from '../extension.js';
import type { SchemaAdmin } from './admin.js';

/** `schema.set`, `schema.get`, `schema.list` (admin on the board when authorization is on). */
export function schemaHandlers(admin: () => SchemaAdmin): HandlerTable {
  return {
    'schema.set': (frame, ctx) => admin().set(frame, ctx.session.actorJson, ctx.lossless),
    'schema.get': (frame) => admin().get(frame),
    'schema.list': (frame) => admin().list(frame),
  };
}
