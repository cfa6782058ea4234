import { CloseCode } from '../../shared/protocol/close-codes.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { Extension } from '../extension.js';
import { authorize, readableKeys } from './authorize.js';

/**
 * Authorization of every request against the connection's scopes, before its handler
 * runs: a refused request is FORBIDDEN and changes nothing. With AUTH_MODE=none the
 * scopes are null and everything is allowed.
 */
export function securityExtension(): Extension {
  return {
    name: 'security',
    hooks: {
      before(op, frame, session) {
        const { expiresAt, scopes } = session.auth;
        // The expiry timer closes the socket at `exp`; a frame already read when it fires must not slip through.
        if (expiresAt !== null && Date.now() >= expiresAt) {
          session.closeWith(CloseCode.POLICY, 'token expired');
          throw new BlackboardError(ErrorCode.UNAUTHORIZED, 'token expired');
        }
        authorize(op, frame, scopes);
      },
      readAccess(session, board) {
        return readableKeys(session.auth.scopes, board);
      },
    },
  };
}
