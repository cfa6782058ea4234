import { defineConfig } from 'drizzle-kit';

/** `drizzle-kit generate --name <what>` writes the next migration; the server applies them on start. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './server/history/schema/*.ts',
  out: './server/history/migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/blackboard' },
});
