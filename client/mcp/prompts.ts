/** The `coordinate` prompt: how a model shares work with other agents on a board. */

export const coordinatePrompt = {
  name: 'coordinate',
  title: 'Coordinate with other agents on a board',
  description:
    'How to share work on a Blackboard board with other agents: look before acting, claim work with compare-and-set or a lock, write results where others will find them.',
  arguments: [
    { name: 'board', description: 'The board to work on.', required: false },
    { name: 'goal', description: 'What the team is trying to do.', required: false },
  ],
};

export function coordinateText(board: string | undefined, goal: string | undefined): string {
  const where = board ? `board "${board}"` : 'the board you are given';
  return [
    `You are one of several agents sharing ${where} on a Blackboard server.${goal ? ` The team's goal: ${goal}` : ''}`,
    '',
    "The board is the team's shared memory: keys holding JSON values. Other agents read and change it while you work, so:",
    '1. Look before you act. Read the current state (board_list, board_get, or the resource blackboard://<board>) and check whether someone already did or claimed what you are about to do.',
    '2. Claim work so that only one agent does it:',
    '   - with compare-and-set: board_update (or board_put with if_version) on a claim key such as `claims/<item>`; if you get committed=false or CONFLICT, someone else was first: pick other work;',
    '   - or with a lock: lock_acquire, then pass {"lock", "token"} as `fence` on your writes, and lock_release when done; a FENCED write means you lost the lock: stop and re-read;',
    '   - or, for queued work, task_claim: it hands each task to one agent; save progress with task_checkpoint, finish with task_complete (or task_fail). A task you receive with attempt > 1 was started by someone else: resume from its checkpoint.',
    '3. Never overwrite blindly. Update shared values with board_update: read, compute, write with the version you read, and on a conflict recompute from the value it returns.',
    '4. Write results where others will look (e.g. `results/<item>`), and keep a short status of what you are doing (e.g. `status/<your name>`), so others do not duplicate it.',
    '5. Stay current. Re-read before each decision, or subscribe to the resources you depend on and re-read when they are updated; `lastRev` tells you how fresh your copy is.',
    '6. Errors carry a code: CONFLICT (someone changed it: re-read and retry), FENCED (your lock or task was lost: stop that work), FORBIDDEN (your credential does not allow it), NOT_FOUND, LOCKED (someone else holds the lock: wait or do something else).',
  ].join('\n');
}
