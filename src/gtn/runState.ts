// What a run folder's checkpoint holds: the meta-parameters, the meta-optimiser's state and the counters
// needed to continue exactly where a run stopped.
import { Tensor, type Tree } from '../tensor/index.js';
import { GtnError } from '../errors.js';
import type { AdamState } from './metaOptim.js';
import type { MetaParams } from './unroll.js';
import { namedLeaves, readCheckpointFile, treeFromNamed, writeCheckpointFile } from './checkpointFile.js';

export interface RunState {
  /** Outer iterations completed. */
  iteration: number;
  meta: MetaParams;
  adam: AdamState;
  bestValidation: number | null;
  consecutiveSkips: number;
  totalSkips: number;
}

export function saveRunState(file: string, s: RunState): void {
  const meta = namedLeaves(s.meta as Tree, 'meta');
  const adam: [string, Tensor][] = [
    ...s.adam.m.map((m, i): [string, Tensor] => [`adam.m.${i}`, new Tensor(m, [m.length])]),
    ...s.adam.v.map((v, i): [string, Tensor] => [`adam.v.${i}`, new Tensor(v, [v.length])]),
  ];
  writeCheckpointFile(
    file,
    { kind: 'gtn-run', iteration: s.iteration, adamStep: s.adam.step, bestValidation: s.bestValidation, consecutiveSkips: s.consecutiveSkips, totalSkips: s.totalSkips },
    [...meta, ...adam],
  );
}

export function loadRunState(file: string): RunState {
  const { header, tensors } = readCheckpointFile(file);
  if (header.kind !== 'gtn-run') throw new GtnError(`${file} is not a gtn run checkpoint`);
  const list = (prefix: string) => {
    const out: Float32Array[] = [];
    for (let i = 0; tensors.has(`${prefix}.${i}`); i++) out.push(tensors.get(`${prefix}.${i}`)!.data as Float32Array);
    return out;
  };
  let meta: MetaParams;
  try {
    meta = treeFromNamed(tensors, 'meta') as MetaParams;
  } catch (err) {
    throw new GtnError(`checkpoint ${file} holds no meta-parameters (${(err as Error).message})`);
  }
  return {
    iteration: Number(header.iteration),
    meta,
    adam: { step: Number(header.adamStep), m: list('adam.m'), v: list('adam.v') },
    bestValidation: (header.bestValidation as number | null) ?? null,
    consecutiveSkips: Number(header.consecutiveSkips ?? 0),
    totalSkips: Number(header.totalSkips ?? 0),
  };
}
