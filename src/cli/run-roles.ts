import { loadConfig, type Config } from '../config/env';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type Metrics } from '../observability/metrics';
import type { Role } from '../roles/role';
import { openServices, type Services } from '../runtime/services';

/** Starts one role; `started` are the roles already running in this process. */
export type RoleStarter = (services: Services, metrics: Metrics, started: readonly Role[]) => Promise<Role>;

/**
 * Starts roles in one process and stops them in reverse order on SIGINT/SIGTERM
 * (in-flight work finishes; what is left is Temporal's to hand out again).
 */
export async function runRoles(starters: RoleStarter[], config: Config = loadConfig(), logger?: Logger): Promise<void> {
  const log = logger ?? createLogger(config.LOG_LEVEL);
  const services = await openServices(config, log);
  const metrics = createMetrics();
  const roles: Role[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping');
      for (const role of [...roles].reverse()) await role.stop().catch((error: Error) => log.error({ err: error, role: role.name }, 'stop failed'));
      await services.close();
    })();
    return stopping;
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  try {
    for (const start of starters) roles.push(await start(services, metrics, roles));
  } catch (error) {
    await stop('start-up failed');
    throw error;
  }
  // Runs until a signal stops everything or one role ends by itself (then all stop).
  await new Promise<void>((resolve) => {
    const check = setInterval(() => stopping && (clearInterval(check), resolve()), 200);
    for (const role of roles) {
      role.done?.then(
        () => void stop(`${role.name} ended`),
        (error: Error) => {
          log.error({ err: error, role: role.name }, 'role failed');
          process.exitCode = 1;
          void stop(`${role.name} failed`);
        },
      );
    }
  });
  await stopping;
}
