import { ConfigError, type Config } from '../config.js';
import { OpenAuthenticator, type Authenticator } from '../gateway/auth.js';
import { JwtAuthenticator } from './jwt.js';

/** The authenticator AUTH_MODE names; a JWT set-up that cannot work stops the node at start. */
export function chooseAuthenticator(config: Config): Authenticator {
  if (config.AUTH_MODE === 'none') return new OpenAuthenticator();
  try {
    return JwtAuthenticator.fromSettings({
      secret: config.JWT_SECRET,
      publicKeyFile: config.JWT_PUBLIC_KEY_FILE,
      jwksFile: config.JWT_JWKS_FILE,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });
  } catch (err) {
    // main.ts prints configuration errors as one line, without a stack.
    throw new ConfigError((err as Error).message);
  }
}
