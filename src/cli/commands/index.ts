// The list of subcommands. Add one line per command file.
import type { Command } from 'commander';
import { registerDataCommand } from './data.js';
import { registerTrainCommand } from './train.js';
import { registerEvalCommand } from './eval.js';
import { registerSampleCommand } from './sample.js';
import { registerDoctorCommand } from './doctor.js';
import { registerNasCommand } from './nas.js';
import { registerRunsCommand } from './runs.js';
import { registerDashboardCommand } from './dashboard.js';
import { registerWorkerCommand } from './worker.js';

export function registerCommands(program: Command): void {
  registerDataCommand(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerSampleCommand(program);
  registerDoctorCommand(program);
  registerNasCommand(program);
  registerRunsCommand(program);
  registerDashboardCommand(program);
  registerWorkerCommand(program);
}
