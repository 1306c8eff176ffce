// Option parsers that reject bad values with a message naming the option.
import { InvalidArgumentError } from 'commander';

export function parseIntOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} expects a non-negative integer, got '${v}'`);
    return n;
  };
}

export function parseNumberOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} expects a number, got '${v}'`);
    return n;
  };
}
