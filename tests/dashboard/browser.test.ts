// The dashboard in a real browser (headless Debian Chromium driven by puppeteer-core), on a real run made here:
// the charts hold the run's data points, the sample grids load, a `gtn train` started while the page is open
// shows up and its curves grow without a reload, and the page logs no error. A screenshot is saved.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startDashboard } from '../../src/dashboard/server.js';
import { bin, env, evalTiny, gtn, makeNas, makeTruth, trainArgs, trainTiny } from '../records/fixture.js';

const chromium = process.env.GTN_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const work = mkdtempSync(join(tmpdir(), 'gtn-dashboard-browser-'));
const runs = join(work, 'runs');
/** Kept after the test (the tmp folder is removed): the last screenshot. GTN_SCREENSHOT copies it elsewhere too. */
const screenshot = join(tmpdir(), 'gtn-dashboard-test.png');
const WAIT = { timeout: 120_000, polling: 200 };
after(() => rmSync(work, { recursive: true, force: true }));

type Charts = Record<string, { series: { label: string; points: number }[] }>;
const points = (charts: Charts, id: string, label: string) => charts[id]?.series.find((s) => s.label === label)?.points;

describe('dashboard in headless Chromium', { skip: chromium ? false : 'no Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)' }, () => {
  let dash: Awaited<ReturnType<typeof startDashboard>>;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    // A run whose every meta-step is over --skip-norm, made first so that 'tiny' stays the run changed last.
    gtn(...trainArgs(join(runs, 'skipping'), 4, 2), '--skip-norm', '1e-12');
    trainTiny(join(runs, 'tiny'), 4, 2);
    evalTiny(join(runs, 'tiny'), join(runs, 'gtn.db'));
    const truth = join(work, 'truth.csv');
    makeTruth(truth);
    makeNas(join(runs, 'nas'), truth, join(runs, 'gtn.db'));
    dash = await startDashboard({ runsDir: runs, dbFile: join(runs, 'gtn.db'), port: 0 });
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1500, height: 1000 });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(dash.url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready=true]', { timeout: WAIT.timeout });
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  it("charts hold the run's points: meta-loss, validation, per-step lr, momentum, eval curve", async () => {
    const charts = (await page.evaluate('window.__gtnCharts')) as Charts;
    assert.equal(points(charts, 'chart-meta-loss', 'tiny'), 4);
    assert.equal(points(charts, 'chart-validation', 'tiny'), 2);
    // The meta-gradient norm of every step; the skipped ones ringed, for the run that has them only.
    assert.equal(points(charts, 'chart-grad-norm', 'tiny'), 4);
    assert.equal(points(charts, 'chart-grad-norm', 'tiny: skipped'), undefined);
    assert.equal(points(charts, 'chart-grad-norm', 'skipping'), 4);
    assert.equal(points(charts, 'chart-grad-norm', 'skipping: skipped'), 4);
    assert.deepEqual(charts['chart-lr'].series.map((s) => [s.label, s.points]), [1, 2, 3, 4].map((t) => [`step ${t}`, 4]));
    assert.ok(charts['chart-momentum'].series.length === 4 && charts['chart-momentum'].series.every((s) => s.points >= 1));
    assert.equal(points(charts, 'chart-eval', 'tiny (gtn)'), 3, 'accuracy after 1, 2 and 4 inner steps');
    assert.deepEqual(charts['chart-schedule'].series.map((s) => [s.label, s.points]), [['inner lr', 4], ['momentum', 4]]);
    // uPlot drew them: one canvas per chart.
    for (const id of ['chart-meta-loss', 'chart-validation', 'chart-grad-norm', 'chart-lr', 'chart-eval']) assert.ok(await page.$(`#${id} canvas`), id);
  });

  it('NAS charts: proxy score vs true accuracy with rank correlations, best found per search', async () => {
    const charts = (await page.evaluate('window.__gtnCharts')) as Charts;
    const rank = Object.keys(charts).find((k) => k.startsWith('chart-rank-'))!;
    assert.equal(points(charts, rank, 'params'), 61);
    const caption = await page.$eval(`[data-chart="${rank}"] figcaption`, (e) => e.textContent ?? '');
    assert.match(caption, /Spearman 0\.\d{3}, Kendall 0\.\d{3} \(n = 61\)/);
    for (const id of ['chart-search-evals', 'chart-search-time']) {
      assert.deepEqual(charts[id].series.map((s) => [s.label.split(' · ')[0], s.points]), [['evolution', 20], ['random', 20]], id);
    }
  });

  it('the sample grids load', async () => {
    await page.waitForFunction(() => [...document.querySelectorAll('#samples img')].every((i) => (i as HTMLImageElement).complete), WAIT);
    const widths = await page.$$eval('#samples img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    assert.equal(widths.length, 2);
    assert.ok(widths.every((w) => w > 0), `naturalWidth ${widths}`);
  });

  it('a gtn train started while the page is open appears and its curves grow, without a reload', async () => {
    await page.evaluate('window.__sameDocument = true');
    const train = spawn(process.execPath, [bin, ...trainArgs(join(runs, 'live'), 6, 3)], { env, stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => train.on('exit', resolve));
    await page.waitForFunction(() => {
      const s = (window as unknown as { __gtnCharts: Charts }).__gtnCharts['chart-meta-loss']?.series.find((x) => x.label === 'live');
      return s?.points === 6;
    }, WAIT);
    assert.equal(await done, 0);
    await page.waitForFunction(() => (window as unknown as { __gtnCharts: Charts }).__gtnCharts['chart-validation']?.series.find((x) => x.label === 'live')?.points === 2, WAIT);
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'the page was not reloaded');
    const rows = await page.$$eval('#runs-table tbody tr td.name', (tds) => tds.map((t) => t.textContent?.trim()));
    assert.ok(rows.includes('live'), `runs table: ${rows}`);
  });

  it('logs no error, and a screenshot is saved', async () => {
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    if (process.env.GTN_SCREENSHOT) copyFileSync(screenshot, process.env.GTN_SCREENSHOT);
    assert.deepEqual(problems, []);
  });
});
