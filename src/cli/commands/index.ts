// The list of subcommands. Add one line per command file.
import type { Command } from 'commander';
import { registerDataCommand } from './data.js';

export function registerCommands(program: Command): void {
  void program;
  registerDataCommand(program);
}
