export { boards, type BoardRow } from './boards.js';
export { cluster } from './cluster.js';
export { events, type EventRow } from './events.js';
export { persistRanges } from './persist-ranges.js';
export { snapshots } from './snapshots.js';
export { snapshotKeys } from './snapshot-keys.js';
export { searchBoards, searchDocs, searchState, searchWords } from './search.js';
