// The queue's address: a redis:// URL turned into BullMQ connection options, and a check that the server is
// there and accepts the URL, which fails with one clear message where a Redis client would retry forever.
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'bullmq';
import { GtnError } from '../errors.js';

export function connectionOptions(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GtnError(`--queue expects a URL like redis://HOST:PORT, got '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new GtnError(`--queue expects a redis:// or rediss:// URL, got '${redact(url)}'`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new GtnError(`--queue: '${u.pathname.slice(1)}' in ${redact(url)} is not a database number`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL as messages show it: without its password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The error's code (ECONNREFUSED, ENOTFOUND, ...) or message, for one-line reports. */
export const errorCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);

/** One command in Redis's wire format. */
const command = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/**
 * Resolves when the queue's server accepts this URL's credentials and database (AUTH, SELECT, PING answered
 * without error); rejects with a GtnError naming the URL otherwise, where a Redis client would retry forever.
 */
export function probeQueue(url: string, timeoutMs = 5000): Promise<void> {
  const o = connectionOptions(url) as { host: string; port: number; username?: string; password?: string; db: number; tls?: object };
  const commands = [...(o.password ? [o.username ? command('AUTH', o.username, o.password) : command('AUTH', o.password)] : []), ...(o.db ? [command('SELECT', String(o.db))] : []), command('PING')];
  return new Promise((resolve, reject) => {
    const s = o.tls ? tlsConnect({ host: o.host, port: o.port, servername: o.host }) : tcpConnect({ host: o.host, port: o.port });
    const fail = (why: string, verb = 'reach') => {
      s.destroy();
      reject(new GtnError(`cannot ${verb} the queue at ${redact(url)} (${why})`));
    };
    s.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s`));
    s.once('error', (err) => fail(errorCode(err)));
    s.once(o.tls ? 'secureConnect' : 'connect', () => s.write(commands.join('')));
    // Each of these commands answers with one line: +OK / +PONG, or -ERROR message.
    let text = '';
    s.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const lines = text.split('\r\n').slice(0, -1);
      const bad = lines.find((l) => l.startsWith('-'));
      if (bad) fail(bad.slice(1), 'use');
      else if (lines.length >= commands.length) {
        s.destroy();
        resolve();
      }
    });
  });
}

/** An 'error' listener for BullMQ objects: a Redis error is reported once a minute at most, not on every retry. */
export function errorReporter(url: string, who: string, log: (line: string) => void = (l) => console.error(l)): (err: Error) => void {
  const last = new Map<string, number>();
  return (err) => {
    const code = errorCode(err);
    const now = Date.now();
    if (now - (last.get(code) ?? -Infinity) < 60_000) return;
    last.set(code, now);
    log(`gtn ${who}: queue at ${redact(url)}: ${code}; retrying`);
  };
}
