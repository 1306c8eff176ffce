// Run records: an SQLite index of run folders and NAS logs (which stay the source of truth).
export { openRecords, withRecords, dbPathForRuns, dbPathForRun, type RecordsDb } from './db.js';
export { syncRun, runChanged, evaluationsFile } from './syncRun.js';
export { syncRankLog, syncSearch } from './syncNas.js';
export { syncTree, reindex, findSources, type SyncReport } from './syncTree.js';
export { recordEvaluation, recordRankLog, recordSearch, trackRun, commandLine, type RunTracker } from './hooks.js';
export * from './queries.js';
export * from './nasQueries.js';
