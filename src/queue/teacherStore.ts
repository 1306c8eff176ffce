// A teacher travels through Redis by content hash: the client stores its config.json and best checkpoint as
// one bundle under gtn:teacher:<sha256 of the bundle>, once; a worker unpacks it into
// $GTN_CACHE_DIR/teachers/<hash>/ (a run folder the proxy can read) the first time a job needs it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../data/cache.js';
import { GtnError } from '../errors.js';
import { runFiles } from '../gtn/trainer.js';
import { writeFileAtomic } from '../io/atomic.js';

/** The few Redis commands the store needs (BullMQ's client forwards them to ioredis). */
export interface RedisStore {
  exists(key: string): Promise<number>;
  setnx(key: string, value: Buffer): Promise<number>;
  getBuffer(key: string): Promise<Buffer | null>;
}

export interface TeacherBundle {
  hash: string;
  bytes: Buffer;
}

const key = (hash: string) => `gtn:teacher:${hash}`;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Bundle layout: uint32 LE length of config.json, config.json, the checkpoint. */
export function teacherBundle(run: string): TeacherBundle {
  const f = runFiles(run);
  if (!existsSync(f.best)) throw new GtnError(`${run} has no best checkpoint (${f.best})`);
  const config = readFileSync(f.config);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(config.length);
  const bytes = Buffer.concat([head, config, readFileSync(f.best)]);
  return { hash: sha256(bytes), bytes };
}

/** Stores the bundle unless a copy is there already. */
export async function uploadTeacher(store: RedisStore, t: TeacherBundle): Promise<void> {
  if (await store.exists(key(t.hash))) return;
  await store.setnx(key(t.hash), t.bytes);
}

export const teacherCacheDir = (hash: string): string => join(cacheDir(), 'teachers', hash);

/** The local run folder of the teacher `hash`, downloaded from the store when this machine has no intact copy. */
export async function fetchTeacher(store: RedisStore, hash: string): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new GtnError(`'${hash}' is not a teacher hash`);
  const dir = teacherCacheDir(hash);
  const f = runFiles(dir);
  if (existsSync(f.config) && existsSync(f.best) && teacherBundle(dir).hash === hash) return dir;
  const bytes = await store.getBuffer(key(hash));
  if (!bytes) throw new GtnError(`teacher ${hash.slice(0, 12)} is not in the queue's store (${key(hash)}) nor in ${dir}: resubmit from the machine that has its run folder`);
  if (sha256(bytes) !== hash) throw new GtnError(`teacher ${hash.slice(0, 12)}: the stored bundle does not match its hash (corrupt)`);
  const n = bytes.readUInt32LE(0);
  // The checkpoint is written first: config.json marks a complete folder.
  writeFileAtomic(f.best, bytes.subarray(4 + n));
  writeFileAtomic(f.config, bytes.subarray(4, 4 + n));
  return dir;
}
