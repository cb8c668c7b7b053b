import { ConfigError } from '../config/env';
import { StartupError } from '../runtime/startup-error';
import { commands } from './commands';

const USAGE = `usage: hookrelay <command> [options]

commands:
  dev                         embedded Temporal + MongoDB, all roles, a dev API key and UI links
  start                       api + worker + dispatcher in one process, against configured servers
  api | worker | dispatcher   one role
  emit --type T --org O [--namespace N] [--subject type:id] [--metadata JSON] [--id evt_…]
                              write an event into webhook_events as the engine would; prints its id
  keys create --org O         print a new API key on its own line
  keys revoke <prefix>        revoke API keys starting with prefix
  keys list [--org O]         one line per key: prefix, organization, created, state
  apply -f webhooks.yaml [--org O] [--dry-run]
                              create or update webhooks declared in a file, by name
  healthcheck api|worker|dispatcher
                              container health check of one role (exit 0 = healthy)

configuration comes from environment variables (see docs/configuration.md)`;

/** Entry point of the `hookrelay` command. Errors print one clear line and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command || name === 'help' || name === '--help') {
    (command || name === 'help' || name === '--help' ? console.log : console.error)(USAGE);
    if (!command) process.exitCode = name === 'help' || name === '--help' ? 0 : 2;
    return;
  }
  try {
    await command(rest);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`hookrelay ${name}: ${(error as Error).message}`);
    } else {
      console.error(`hookrelay ${name}: ${(error as Error).stack ?? String(error)}`);
    }
    process.exitCode = 1;
  }
}
