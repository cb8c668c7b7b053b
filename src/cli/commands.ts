import { dispatcherCommand, startCommand, workerCommand } from './commands/roles';
import { emitCommand } from './commands/emit';

export type Command = (args: string[]) => Promise<void>;

/** Every `hookrelay` sub-command (DESIGN.md §8: these names are a public contract). */
export const commands: Record<string, Command> = {
  start: startCommand,
  worker: workerCommand,
  dispatcher: dispatcherCommand,
  emit: emitCommand,
};
