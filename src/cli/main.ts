// Entry point of the `gtn` command. Each subcommand lives in its own file under commands/ and registers itself
// on the program; this file only wires them together.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';

const program = new Command();
program
  .name('gtn')
  .description('Generative Teaching Networks: learn synthetic training data, then use it to search architectures fast.')
  .version('0.1.0')
  .showHelpAfterError();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // User-facing errors carry a clear message; anything else is a bug and keeps its trace.
  if (err instanceof Error && err.name === 'GtnError') {
    console.error(`gtn: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
