// Rank statistics against values computed by hand (and by scipy.stats for the tied case).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kendall, meanRanks, ranks, spearman, topPrecision } from '../../src/nas/rankStats.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('rank statistics', () => {
  it('ranks average ties', () => {
    assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
    assert.deepEqual(ranks([Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY]), [1.5, 3, 1.5]);
  });

  it('perfect, reversed and tied orders', () => {
    close(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    close(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    close(kendall([1, 2, 3, 4], [1, 3, 2, 4]), 4 / 6);
    // scipy.stats.spearmanr([1,2,3,4,5],[5,6,7,8,7]) = 0.8207826816681233; kendalltau (tau-b) = 0.7378647873726218
    close(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233);
    close(kendall([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.7378647873726218);
  });

  it('top-10% precision counts the true best found among the predicted best', () => {
    const truth = Array.from({ length: 20 }, (_, i) => i);
    assert.equal(topPrecision(truth, truth), 1);
    const swapped = [...truth];
    [swapped[19], swapped[0]] = [swapped[0], swapped[19]];
    assert.equal(topPrecision(swapped, truth), 0.5);
    assert.throws(() => spearman([1, 2], [1]), /paired/);
  });

  it('a vote is the mean normalised rank over its scorers, non-finite scores lowest', () => {
    // scorer A orders 0 < 1 < 2, scorer B 2 < 0 < 1 on another scale: ranks 0, .5, 1 and .5, 1, 0
    assert.deepEqual(meanRanks([[1, 2, 3], [-5, 7, -100]]), [0.25, 0.75, 0.5]);
    assert.deepEqual(meanRanks([[Number.NaN, 0, Number.NEGATIVE_INFINITY]]), [0.25, 1, 0.25]);
    assert.deepEqual(meanRanks([[4]]), [1]);
    assert.throws(() => meanRanks([[1, 2], [1]]), /every scorer/);
  });
});
