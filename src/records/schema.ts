// The run-records schema, as numbered migrations: migration k brings a database from user_version k to
// k + 1. Append new migrations; never edit one that has shipped. Everything here can be rebuilt from the run
// folders and NAS logs (`gtn runs reindex`), which stay the source of truth.
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    dir TEXT NOT NULL UNIQUE,              -- absolute path of the run folder
    name TEXT NOT NULL,                    -- path relative to the database's folder (or absolute when outside)
    config TEXT NOT NULL,                  -- config.json as JSON
    dataset TEXT, teacher TEXT, curriculum TEXT,
    planned_iterations INTEGER,
    iterations INTEGER NOT NULL DEFAULT 0,
    best_validation REAL, best_iteration INTEGER,
    checkpoint_iteration INTEGER,          -- iteration of checkpoints/last.gtnckpt, when present
    pid INTEGER, host TEXT,                -- the gtn train process writing the run, while it runs
    created_ms REAL NOT NULL,
    updated_ms REAL NOT NULL
  );
  CREATE TABLE iterations (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    iteration INTEGER NOT NULL,
    meta_loss REAL, grad_norm REAL, skipped INTEGER NOT NULL DEFAULT 0, seconds REAL,
    learner TEXT,                          -- JSON
    inner_lr TEXT,                         -- JSON [T], learned per-step inner learning rates
    inner_momentum TEXT,                   -- JSON [T], learned per-step inner momenta (when known)
    PRIMARY KEY (run_id, iteration)
  ) WITHOUT ROWID;
  CREATE TABLE validations (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    iteration INTEGER NOT NULL,
    accuracy REAL NOT NULL,
    best INTEGER NOT NULL,
    PRIMARY KEY (run_id, iteration)
  ) WITHOUT ROWID;
  CREATE TABLE samples (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    iteration INTEGER NOT NULL,
    PRIMARY KEY (run_id, file)
  ) WITHOUT ROWID;
  CREATE TABLE evaluations (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                  -- line number in <run>/evaluations.jsonl
    at TEXT, command TEXT NOT NULL,
    checkpoint_iteration INTEGER, steps INTEGER, accuracy_mean REAL, accuracy_std REAL,
    result TEXT NOT NULL,                  -- the command's JSON result
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE nas_sources (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,             -- a rank log (file) or a search folder
    kind TEXT NOT NULL CHECK (kind IN ('rank', 'search')),
    name TEXT NOT NULL,
    strategy TEXT, proxy TEXT, settings TEXT,
    updated_ms REAL NOT NULL
  );
  CREATE TABLE nas_evaluations (
    source_id INTEGER NOT NULL REFERENCES nas_sources(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                  -- rank: line number; search: proposal number n
    arch TEXT NOT NULL,
    proxy TEXT, proxy_key TEXT, settings TEXT,
    score REAL, seconds REAL, elapsed REAL, reused INTEGER, by_steps TEXT,
    host TEXT,                             -- where it was scored
    PRIMARY KEY (source_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE nas_truth (
    arch TEXT PRIMARY KEY,
    valid200 REAL, test200 REAL NOT NULL, test12 REAL,
    source TEXT
  ) WITHOUT ROWID;
  -- How far each source file has been read: a log grows by whole lines, so the next sync reads from offset.
  CREATE TABLE files (
    path TEXT PRIMARY KEY,
    ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
    offset INTEGER NOT NULL DEFAULT 0,
    lines INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  `,
];
