import type { Config } from './config.js';
import type { Extension } from './extension.js';
import { metricsExtension } from './metrics/extension.js';
import { dashboardExtension } from './dashboard/extension.js';
import { tasksExtension } from './tasks/extension.js';
import { historyExtension } from './history/extension.js';
import { searchExtension } from './search/extension.js';
import { locksExtension } from './locks/extension.js';
import { presenceExtension } from './presence/extension.js';
import { admissionExtension } from './admission/extension.js';
import { securityExtension } from './security/extension.js';
import { schemasExtension } from './schemas/extension.js';
import { mcpExtension } from './mcp/extension.js';
import { boardExtension } from './board/extension.js';

/** The capabilities a server node runs, in start-up order. */
export function defaultExtensions(config: Config): Extension[] {
  return [
    boardExtension(),
    securityExtension(),
    admissionExtension(config),
    historyExtension(config),
    searchExtension(config),
    metricsExtension(),
    dashboardExtension(),
    tasksExtension(),
    locksExtension(),
    presenceExtension(),
    schemasExtension(),
    ...(config.MCP_ENABLED ? [mcpExtension()] : []),
  ];
}
