import { customType } from 'drizzle-orm/pg-core';

/**
 * Text compared byte by byte (`COLLATE "C"`): keys sort as they do in Redis and on the
 * wire, and a prefix is one contiguous index range whatever the server's locale.
 */
export const byteText = customType<{ data: string; driverData: string }>({
  dataType() {
    return 'text COLLATE "C"';
  },
});
