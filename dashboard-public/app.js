// The gtn dashboard page: polls the JSON API and draws uPlot charts. Plain ES module, no build step.
// window.__gtnCharts mirrors what every chart holds (series labels and point counts) for tests and debugging.
import uPlot from '/vendor/uplot/uPlot.esm.js';

const POLL_MS = 2000;
const PALETTE = ['#2f6fdf', '#e8590c', '#2b8a3e', '#c2255c', '#7048e8', '#0b7285', '#a61e4d', '#5c940d', '#d9480f', '#364fc7'];
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

const $ = (sel) => document.querySelector(sel);
const state = { runs: [], selected: new Set(), focus: null, seen: new Map(), compareSig: '', detailSig: '', nasSig: '', firstLoad: true };
const charts = new Map();
window.__gtnCharts = {};

const colorOf = (id) => PALETTE[(id - 1) % PALETTE.length];
const pct = (x, d = 2) => (x == null ? '–' : `${(100 * x).toFixed(d)}%`);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
  return `rgb(${c.join(',')})`;
}

async function api(path) {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || `${r.status} ${path}`);
  return body;
}

function showError(err) {
  const el = $('#error');
  el.textContent = err ? String(err.message || err) : '';
  el.hidden = !err;
  $('#live').classList.toggle('stale', !!err);
}

// ---- charts ------------------------------------------------------------------------------------------------

// Tick labels with as many decimals as the tick spacing needs (uPlot's defaults repeat labels on narrow ranges).
const decimals = (incr) => Math.max(0, Math.min(8, -Math.floor(Math.log10(incr) + 1e-9)));
const pctAxis = { values: (u, vals, _axis, _space, incr) => vals.map((v) => (v == null ? '' : `${(100 * v).toFixed(decimals(100 * incr))}%`)) };
const fineAxis = (extra = {}) => ({ size: 60, values: (u, vals, _axis, _space, incr) => vals.map((v) => (v == null ? '' : v.toFixed(decimals(incr)))), ...extra });

/**
 * Draws (or updates in place) the chart in element `id`. `series` are uPlot series options (after x) and `data`
 * is uPlot data; a chart whose series changed is rebuilt, otherwise only its data are replaced.
 */
function draw(id, { series, data, opts: { xSeries, ...opts } = {}, empty = 'no data yet' }) {
  const el = document.getElementById(id);
  const prev = charts.get(id);
  const sig = JSON.stringify([series.map((s) => [s.label, s.stroke]), opts.mode ?? 1]);
  let plot = null;
  if (!series.length) {
    if (prev) prev.plot.destroy();
    charts.delete(id);
    el.innerHTML = `<div class="empty">${esc(empty)}</div>`;
  } else if (prev && prev.sig === sig) {
    plot = prev.plot;
    plot.setData(data);
  } else {
    if (prev) prev.plot.destroy();
    el.innerHTML = '';
    plot = new uPlot({ width: Math.max(240, el.clientWidth), height: 240, ...opts, scales: { x: { time: false }, ...(opts.scales ?? {}) }, series: [xSeries ?? {}, ...series] }, data, el);
    charts.set(id, { plot, sig });
  }
  // What the chart now holds, read back from uPlot.
  const held = plot ? plot.series.slice(1).map((s, i) => ({ label: s.label, points: opts.mode === 2 ? plot.data[i + 1][0].length : plot.data[i + 1].filter((v) => v != null).length })) : [];
  window.__gtnCharts[id] = { series: held };
  el.dataset.points = held.map((c) => c.points).join(',');
}

window.addEventListener('resize', () => {
  for (const [id, c] of charts) c.plot.setSize({ width: Math.max(240, document.getElementById(id).clientWidth), height: 240 });
});

const line = (label, stroke, extra = {}) => ({ label, stroke, width: 2, spanGaps: true, points: { size: 4 }, ...extra });

/** Overlays [xs, ys] tables of several series on one x axis (uPlot needs one shared, sorted x). */
const join = (tables) => (tables.length ? uPlot.join(tables) : [[]]);

// ---- runs table ----------------------------------------------------------------------------------------------

function renderRuns(runs) {
  const body = $('#runs-table tbody');
  $('#no-runs').hidden = runs.length > 0;
  body.innerHTML = runs
    .map((r) => {
      const test = r.test ? `${pct(r.test.accuracyMean)} <small>± ${pct(r.test.accuracyStd)}</small>` : '–';
      const best = r.bestValidation == null ? '–' : `${pct(r.bestValidation)} @${r.bestIteration}`;
      return `<tr data-id="${r.id}" class="${r.id === state.focus ? 'focused' : ''}">
        <td><input type="checkbox" aria-label="overlay ${esc(r.name)}" ${state.selected.has(r.id) ? 'checked' : ''}></td>
        <td class="name"><span class="swatch" style="background:${colorOf(r.id)}"></span><a title="${esc(r.dir)}">${esc(r.name)}</a></td>
        <td>${esc(r.teacher ?? '–')}</td>
        <td><span class="status ${r.status}">${r.status}</span></td>
        <td>${r.iterations}/${r.plannedIterations ?? '?'}</td>
        <td>${best}</td>
        <td title="${esc(r.test?.command ?? '')}">${test}</td>
      </tr>`;
    })
    .join('');
}

$('#runs-table').addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-id]');
  if (!tr) return;
  const id = Number(tr.dataset.id);
  if (e.target.matches('input[type=checkbox]')) {
    if (e.target.checked) state.selected.add(id);
    else state.selected.delete(id);
  } else if (e.target.closest('a')) {
    state.focus = id;
    state.selected.add(id);
  } else return;
  state.compareSig = state.detailSig = '';
  void poll(false);
});

// ---- comparison charts -------------------------------------------------------------------------------------

async function refreshCompare(ids) {
  const runs = ids.length ? (await api(`/api/metrics?runs=${ids.join(',')}`)).runs : [];
  draw('chart-meta-loss', {
    series: runs.map((r) => line(r.name, colorOf(r.id), { points: { show: r.iterations.length < 60, size: 4 } })),
    data: join(runs.map((r) => [r.iterations.map((i) => i.iteration), r.iterations.map((i) => i.metaLoss)])),
    opts: { axes: [{ label: 'outer iteration' }, {}] },
    empty: 'tick a run to plot its meta-loss',
  });
  // Log scale: a chaotic unroll shows as norms many decades above the rest; skipped meta-steps are ringed.
  const positive = (v) => (v != null && Number.isFinite(v) && v > 0 ? v : null);
  const skips = runs.map((r) => r.iterations.some((i) => i.skipped));
  draw('chart-grad-norm', {
    series: runs.flatMap((r, k) => [
      line(r.name, colorOf(r.id), { points: { show: r.iterations.length < 60, size: 4 } }),
      ...(skips[k] ? [{ label: `${r.name}: skipped`, stroke: colorOf(r.id), width: 0, paths: () => null, points: { show: true, size: 10, width: 2, fill: '#fff' } }] : []),
    ]),
    data: join(
      runs.map((r, k) => {
        const norms = r.iterations.map((i) => positive(i.gradNorm));
        const table = [r.iterations.map((i) => i.iteration), norms];
        return skips[k] ? [...table, r.iterations.map((i, j) => (i.skipped ? norms[j] : null))] : table;
      }),
    ),
    opts: { scales: { y: { distr: 3 } }, axes: [{ label: 'outer iteration' }, { size: 60 }] },
    empty: 'tick a run to plot its meta-gradient norm',
  });
  draw('chart-validation', {
    series: runs.map((r) => line(r.name, colorOf(r.id))),
    data: join(runs.map((r) => [r.validations.map((v) => v.iteration), r.validations.map((v) => v.accuracy)])),
    opts: { axes: [{ label: 'outer iteration' }, pctAxis] },
    empty: 'no validation yet',
  });
  const evals = await Promise.all(ids.map(async (id) => ({ id, run: state.runs.find((r) => r.id === id), list: (await api(`/api/runs/${id}/evaluations`)).evaluations })));
  renderDiff(await Promise.all(ids.map((id) => api(`/api/runs/${id}`))));
  const series = [];
  const tables = [];
  for (const { id, run, list } of evals) {
    const last = [...list].reverse().find((e) => Array.isArray(e.result.curve));
    if (!last) continue;
    const curve = last.result.curve;
    series.push(line(`${run?.name ?? id} (${last.result.teacher ?? run?.teacher ?? '?'})`, colorOf(id)));
    tables.push([curve.map((c) => c.step), curve.map((c) => c.accuracy)]);
    if (Array.isArray(last.result.real_curve)) {
      series.push(line(`${run?.name ?? id}: real data, tuned SGD`, colorOf(id), { dash: [6, 4] }));
      tables.push([last.result.real_curve.map((c) => c[0]), last.result.real_curve.map((c) => c[1])]);
    }
  }
  draw('chart-eval', {
    series,
    data: join(tables),
    opts: { scales: { x: { time: false, distr: 3, log: 2 } }, axes: [{ label: 'inner steps (log scale)' }, pctAxis] },
    empty: 'no evaluation of the ticked runs yet: gtn eval runs/NAME records one',
  });
}

/** {a: {b: 1}} -> [['a.b', '1']] */
const flatten = (obj, prefix = '') =>
  Object.entries(obj).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? flatten(v, `${prefix}${k}.`) : [[`${prefix}${k}`, JSON.stringify(v)]]));

function renderDiff(runs) {
  const flat = runs.map((r) => new Map(flatten(r.config)));
  const keys = [...new Set(flat.flatMap((m) => [...m.keys()]))].sort();
  const differ = runs.length < 2 ? [] : keys.filter((k) => new Set(flat.map((m) => m.get(k) ?? '–')).size > 1);
  $('#diff-table thead').innerHTML = runs.length < 2 ? '' : `<tr><th>setting</th>${runs.map((r) => `<th><span class="swatch" style="background:${colorOf(r.id)}"></span>${esc(r.name)}</th>`).join('')}</tr>`;
  $('#diff-table tbody').innerHTML =
    runs.length < 2
      ? '<tr><td class="hint">tick two runs or more to compare their settings</td></tr>'
      : differ.length
        ? differ.map((k) => `<tr><td>${esc(k)}</td>${flat.map((m) => `<td>${esc(m.get(k) ?? '–')}</td>`).join('')}</tr>`).join('')
        : '<tr><td class="hint">same settings</td></tr>';
}

// ---- one run -----------------------------------------------------------------------------------------------

function perStep(schedule, key) {
  const rows = schedule[key];
  const T = Math.max(0, ...rows.map((r) => (r ? r.length : 0)));
  const sparse = rows.length < 30;
  const series = Array.from({ length: T }, (_, t) => ({ label: `step ${t + 1}`, stroke: viridis(T > 1 ? t / (T - 1) : 0), width: 1.5, spanGaps: true, points: { show: sparse, size: 5 } }));
  const data = [schedule.iterations, ...series.map((_, t) => rows.map((r) => (r ? (r[t] ?? null) : null)))];
  return { series, data };
}

async function refreshDetail(id) {
  const [run, schedule, { evaluations }] = await Promise.all([api(`/api/runs/${id}`), api(`/api/runs/${id}/schedule`), api(`/api/runs/${id}/evaluations`)]);
  $('#run-detail').hidden = false;
  $('#run-title').textContent = run.name;
  const c = run.config;
  $('#run-facts').innerHTML = [
    `teacher <b>${esc(c.teacher)}</b> (${esc(c.curriculum)})`,
    `${esc(c.dataset)}`,
    `T = ${c.steps}, B = ${c.batch}`,
    `learner ${esc(JSON.stringify(c.learner))}`,
    `<span class="status ${run.status}">${run.status}</span> ${run.iterations}/${run.plannedIterations ?? '?'} iterations`,
    run.checkpointIteration != null ? `checkpoint @${run.checkpointIteration}` : 'no checkpoint',
  ].join(' · ');
  const lr = perStep(schedule, 'lr');
  draw('chart-lr', { ...lr, opts: { legend: { show: false }, axes: [{ label: 'outer iteration' }, fineAxis()] }, empty: 'no learned learning rates logged' });
  const mom = perStep(schedule, 'momentum');
  draw('chart-momentum', { ...mom, opts: { legend: { show: false }, axes: [{ label: 'outer iteration' }, fineAxis()] }, empty: 'no momenta yet (read from the checkpoints)' });
  const lastLr = [...schedule.lr].reverse().find((r) => r);
  const lastMom = [...schedule.momentum].reverse().find((r) => r);
  const T = Math.max(lastLr?.length ?? 0, lastMom?.length ?? 0);
  const steps = Array.from({ length: T }, (_, t) => t + 1);
  const sched = [];
  const schedData = [steps];
  if (lastLr) {
    sched.push(line('inner lr', '#2f6fdf', { scale: 'lr' }));
    schedData.push(steps.map((t) => lastLr[t - 1] ?? null));
  }
  if (lastMom) {
    sched.push(line('momentum', '#e8590c', { scale: 'm' }));
    schedData.push(steps.map((t) => lastMom[t - 1] ?? null));
  }
  draw('chart-schedule', {
    series: sched,
    data: schedData,
    opts: { scales: { lr: { auto: true }, m: { range: [0, 1] } }, axes: [{ label: 'inner step' }, fineAxis({ scale: 'lr', label: 'lr' }), fineAxis({ scale: 'm', side: 1, label: 'momentum', grid: { show: false } })] },
  });
  renderSamples(id, run.samples);
  $('#evals-table tbody').innerHTML = evaluations.length
    ? evaluations
        .slice()
        .reverse()
        .map((e) => `<tr><td>${esc(e.at ? new Date(e.at).toLocaleString() : '–')}</td><td class="cmd">${esc(e.command)}</td><td>${e.checkpointIteration ?? '–'}</td><td>${e.steps ?? '–'}</td><td>${pct(e.accuracyMean)} ± ${pct(e.accuracyStd)}</td></tr>`)
        .join('')
    : '<tr><td colspan="5" class="hint">none yet: <code>gtn eval RUN</code> records one</td></tr>';
}

function renderSamples(id, samples) {
  const strip = $('#samples');
  const want = samples.map((s) => `/api/runs/${id}/samples/${encodeURIComponent(s.file)}`);
  const have = [...strip.querySelectorAll('img')].map((img) => img.getAttribute('src'));
  if (JSON.stringify(want) === JSON.stringify(have)) return;
  strip.innerHTML = samples.length
    ? samples.map((s, k) => `<figure><img src="${want[k]}" alt="samples after iteration ${s.iteration}" loading="lazy"><figcaption>iteration ${s.iteration}</figcaption></figure>`).join('')
    : '<p class="hint">no sample grids yet (written at each validation)</p>';
  strip.scrollLeft = strip.scrollWidth;
}

// ---- architecture search -------------------------------------------------------------------------------------

async function refreshNas(sources) {
  $('#nas').hidden = sources.length === 0;
  if (!sources.length) return;
  const ranks = sources.filter((s) => s.kind === 'rank');
  const host = $('#rank-charts');
  const wanted = ranks.map((s) => `chart-rank-${s.id}`);
  for (const fig of [...host.children]) if (!wanted.includes(fig.dataset.chart)) fig.remove();
  for (const s of ranks) {
    const scatter = await api(`/api/nas/rank/${s.id}`);
    const id = `chart-rank-${s.id}`;
    let fig = host.querySelector(`[data-chart="${id}"]`);
    if (!fig) {
      fig = document.createElement('figure');
      fig.dataset.chart = id;
      fig.innerHTML = `<figcaption></figcaption><div class="chart" id="${id}"></div>`;
      host.append(fig);
    }
    const stats = scatter.groups.map((g) => `${g.proxy}: Spearman ${g.spearman?.toFixed(3) ?? '–'}, Kendall ${g.kendall?.toFixed(3) ?? '–'} (n = ${g.points.length}${g.withoutTruth ? `, ${g.withoutTruth} without truth` : ''})`);
    fig.querySelector('figcaption').textContent = `Proxy score vs true accuracy — ${scatter.name}. ${stats.join('; ')}`;
    const groups = scatter.groups.filter((g) => g.points.length);
    draw(id, {
      series: groups.map((g, k) => ({ label: g.proxy, stroke: PALETTE[k % PALETTE.length], fill: `${PALETTE[k % PALETTE.length]}88`, paths: uPlot.paths.points(), points: { show: false, size: 7, width: 1 } })),
      data: [null, ...groups.map((g) => [g.points.map((p) => p.score), g.points.map((p) => p.truth)])],
      opts: { mode: 2, legend: { live: false }, cursor: { show: false }, axes: [{ label: 'proxy score' }, { label: 'true test accuracy (%)' }], xSeries: { label: 'score' } },
      empty: 'no scored cell has a known true accuracy (give --truth)',
    });
  }
  const searches = await Promise.all(sources.filter((s) => s.kind === 'search').map((s) => api(`/api/nas/search/${s.id}`)));
  const withTruth = searches.filter((s) => s.points.some((p) => p.bestTruth != null));
  const label = (s) => `${s.strategy ?? '?'} · ${s.proxy ?? '?'} · ${s.name}`;
  const color = (k) => PALETTE[k % PALETTE.length];
  const stepped = () => ({ paths: uPlot.paths.stepped({ align: 1 }) });
  draw('chart-search-evals', {
    series: withTruth.map((s, k) => line(label(s), color(k), stepped())),
    data: join(withTruth.map((s) => [s.points.map((p) => p.evaluations), s.points.map((p) => p.bestTruth)])),
    opts: { axes: [{ label: 'evaluations' }, {}] },
    empty: searches.length ? 'no search has a known true accuracy (give --truth)' : 'no search yet',
  });
  const timed = withTruth.map((s) => ({ s, pts: s.points.filter((p) => p.elapsed != null) }));
  draw('chart-search-time', {
    series: timed.map(({ s }, k) => line(label(s), color(k), stepped())),
    data: join(timed.map(({ pts }) => [pts.map((p) => p.elapsed), pts.map((p) => p.bestTruth)])),
    opts: { axes: [{ label: 'wall time (s)' }, {}] },
    empty: searches.length ? 'no search has a known true accuracy (give --truth)' : 'no search yet',
  });
  $('#search-note').textContent = searches
    .map((s) => {
      const last = s.points[s.points.length - 1];
      return last ? `${label(s)}: best ${last.bestArch} (score ${last.bestScore?.toFixed(3) ?? '–'}${last.bestTruth != null ? `, true ${last.bestTruth.toFixed(2)}%` : ''}) after ${last.evaluations} evaluations` : `${label(s)}: no result yet`;
    })
    .join(' · ');
}

// ---- polling -------------------------------------------------------------------------------------------------

const runSig = (r) => (r ? `${r.id}:${r.iterations}:${r.evaluations}:${r.updatedMs}:${r.status}` : 'none');

async function poll(schedule = true) {
  try {
    const { runsDir, runs } = await api('/api/runs');
    $('#runs-dir').textContent = runsDir;
    state.runs = runs;
    const ids = new Set(runs.map((r) => r.id));
    for (const id of state.selected) if (!ids.has(id)) state.selected.delete(id);
    // Runs that appear are ticked (so a new `gtn train` shows up on its own); the first one focused.
    for (const r of runs) {
      if (!state.seen.has(r.id) && state.selected.size < 8) state.selected.add(r.id);
      state.seen.set(r.id, true);
    }
    // The run in focus by default: a running one, else the one changed last.
    const latest = [...runs].sort((a, b) => b.updatedMs - a.updatedMs)[0];
    if (state.focus === null || !ids.has(state.focus)) state.focus = runs.find((r) => r.status === 'running')?.id ?? latest?.id ?? null;
    renderRuns(runs);
    const selected = runs.filter((r) => state.selected.has(r.id));
    const compareSig = selected.map(runSig).join('|');
    if (compareSig !== state.compareSig) {
      await refreshCompare(selected.map((r) => r.id));
      state.compareSig = compareSig;
    }
    const focused = runs.find((r) => r.id === state.focus);
    const detailSig = runSig(focused);
    if (!focused) $('#run-detail').hidden = true;
    else if (detailSig !== state.detailSig) {
      await refreshDetail(focused.id);
      state.detailSig = detailSig;
    }
    const { sources } = await api('/api/nas');
    const nasSig = sources.map((s) => `${s.id}:${s.evaluations}:${s.updatedMs}`).join('|');
    if (nasSig !== state.nasSig) {
      await refreshNas(sources);
      state.nasSig = nasSig;
    }
    showError(null);
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError(err);
  }
  if (schedule) setTimeout(poll, POLL_MS);
}

void poll();
