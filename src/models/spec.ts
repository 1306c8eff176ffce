// Learner specs: which family and which shape. One schema, validated where configs enter (config.json, CLI).
import { z } from 'zod';
import { parseCell } from './nb201/cell.js';
import { REDUCTIONS } from './nb201/network.js';

const positive = z.number().int().positive();

export const learnerSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('conv'), widths: z.tuple([positive, positive, positive]) }),
  z.object({ kind: z.literal('mlp'), hidden: z.array(positive) }),
  z.object({ kind: z.literal('cifar'), widths: z.array(positive).min(1) }),
  z.object({
    kind: z.literal('nb201'),
    cell: z.string().superRefine((s, ctx) => {
      try {
        parseCell(s);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      }
    }),
    channels: positive,
    cells: positive,
    reduction: z.enum(REDUCTIONS).optional(),
  }),
]);

export type LearnerSpec = z.infer<typeof learnerSpecSchema>;

/** How a meta-trainer varies its learner between outer iterations. */
export const LEARNER_SAMPLING = ['fixed', 'widths', 'cells'] as const;
export type LearnerSampling = (typeof LEARNER_SAMPLING)[number];
