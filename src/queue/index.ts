// Distributed scoring of architecture candidates on BullMQ + Redis: the client (an Evaluator) and the worker.
export { ScoreQueue, makeQueueEvaluator, queueEvaluator, type QueueClientOptions, type QueueEvaluatorOptions } from './client.js';
export { connectionOptions, probeQueue } from './connection.js';
export { GTN_VERSION, QUEUE_NAME, jobId, jobSpec, type JobSpec, type ScoreJob } from './jobs.js';
export { teacherBundle, teacherCacheDir } from './teacherStore.js';
export { startWorker, type QueueWorker, type WorkerEvent, type WorkerOptions } from './worker.js';
