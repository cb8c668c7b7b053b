import { dispatcherCommand, startCommand, workerCommand } from './commands/roles';
import { emitCommand } from './commands/emit';
import { apiCommand } from './commands/api';
import { keysCommand } from './commands/keys';
import { devCommand } from './commands/dev';
import { applyCommand } from './commands/apply';
import { healthcheckCommand } from './commands/healthcheck';

export type Command = (args: string[]) => Promise<void>;

/** Every `hookrelay` sub-command (README, Commands: these names are a public contract). */
export const commands: Record<string, Command> = {
  start: startCommand,
  api: apiCommand,
  worker: workerCommand,
  dispatcher: dispatcherCommand,
  emit: emitCommand,
  keys: keysCommand,
  dev: devCommand,
  apply: applyCommand,
  healthcheck: healthcheckCommand,
};
