import { loadConfig, type Config } from '../config/env';
import { createLogger, type Logger } from '../observability/logger';
import { createMetrics, type Metrics } from '../observability/metrics';
import type { Role } from '../roles/role';
import { openServices, type Services } from '../runtime/services';

/** Starts one role; `started` are the roles already running in this process. */
export type RoleStarter = (services: Services, metrics: Metrics, started: readonly Role[]) => Promise<Role>;

/**
 * Starts roles in one process and stops them in reverse order on SIGINT/SIGTERM
 * (in-flight work finishes; what is left is Temporal's to hand out again). A signal
 * during start-up is honoured as soon as the role being started is up.
 */
export async function runRoles(starters: RoleStarter[], config: Config = loadConfig(), logger?: Logger): Promise<void> {
  const log = logger ?? createLogger(config.LOG_LEVEL);
  let stopReason: string | undefined;
  let wake: () => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stopReason ??= signal;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const roles: Role[] = [];
  let services: Services | undefined;
  try {
    services = await openServices(config, log);
    const metrics = createMetrics();
    for (const start of starters) {
      if (stopReason) break;
      roles.push(await start(services, metrics, roles));
    }
    // Runs until a signal arrives or one role ends by itself (then all stop).
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (stopReason) resolve();
      for (const role of roles) {
        role.done?.then(
          () => onEnd(`${role.name} ended`),
          (error: Error) => {
            log.error({ err: error, role: role.name }, 'role failed');
            process.exitCode = 1;
            onEnd(`${role.name} failed`);
          },
        );
      }
      function onEnd(reason: string) {
        stopReason ??= reason;
        resolve();
      }
    });
  } finally {
    if (services) {
      log.info({ reason: stopReason ?? 'start-up failed' }, 'stopping');
      for (const role of [...roles].reverse()) {
        await role.stop().catch((error: Error) => log.error({ err: error, role: role.name }, 'stop failed'));
      }
      await services.close();
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
