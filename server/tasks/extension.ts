import type { Extension } from '../extension.js';
import { taskHandlers } from './handlers.js';
import { TaskService } from './service.js';

/** Long-running tasks: BullMQ queues worked by remote agents, with checkpoints and leases. */
export function tasksExtension(): Extension {
  let service: TaskService | null = null;
  const running = (): TaskService => {
    if (!service) throw new Error('tasks extension is not started');
    return service;
  };
  return {
    name: 'tasks',
    handlers: taskHandlers(running),
    async init(services) {
      service = await TaskService.start(services);
    },
    async sessionClosed(session) {
      await service?.sessionClosed(session);
    },
    async stop() {
      await service?.stop();
      service = null;
    },
  };
}
