import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Db } from 'mongodb';
import { loadConfig, type Config } from '../../config/env';
import { devBanner, cliInvocation, DEV_ORGANIZATION_ID } from '../../dev/dev-banner';
import { assertDevPortsFree, resolveDevPorts, urlHost } from '../../dev/dev-ports';
import {
  claimDevDir,
  devPaths,
  ensureDevDir,
  loadOrCreateEncryptionKey,
  readDevApiKey,
  readEchoPort,
  saveDevApiKey,
  saveEchoPort,
  type DevPaths,
} from '../../dev/dev-state';
import { startEchoReceiver, type EchoReceiver } from '../../dev/echo-receiver';
import { repoRoot } from '../../infra/repo-root';
import { startMongoServer, type MongoServerHandle } from '../../infra/mongo-server';
import { startTemporalDevServer, type TemporalServerHandle } from '../../infra/temporal-server';
import { createLogger, type Logger } from '../../observability/logger';
import { createMetrics } from '../../observability/metrics';
import { startApiRole } from '../../roles/api-role';
import { startDispatcherRole } from '../../roles/dispatcher-role';
import type { Role } from '../../roles/role';
import { startWorkerRole } from '../../roles/worker-role';
import { openServices, redact } from '../../runtime/services';
import { StartupError } from '../../runtime/startup-error';
import { authenticateApiKey, createApiKey } from '../../store/api-key-store';
import type { RoleStarter } from '../run-roles';

/** Destinations a local receiver lives at; development only. */
const DEV_ALLOWED_CIDRS = ['127.0.0.0/8', '::1/128'];
/** After everything stopped, a lingering handle must not keep the process (and the terminal) busy. */
const EXIT_GRACE_MS = 5_000;

const say = (line: string) => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`[hookrelay dev] ${line}\n`);

const SDK_LOG_LEVELS: Record<Config['LOG_LEVEL'], LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** Temporal SDK logs follow LOG_LEVEL (quiet by default in dev); only possible before the first worker. */
function installSdkRuntime(level: Config['LOG_LEVEL']): void {
  try {
    Runtime.install({ logger: new DefaultLogger(SDK_LOG_LEVELS[level]) });
  } catch {
    // Already installed (e.g. when called twice in one process): keep it.
  }
}

function mergeCidrs(configured: string): string {
  const all = [...configured.split(',').map((cidr) => cidr.trim()), ...DEV_ALLOWED_CIDRS].filter(Boolean);
  return [...new Set(all)].join(',');
}

/** The development key of the development organization: the stored one while it still works, else a new one. */
async function ensureDevApiKey(db: Db, paths: DevPaths): Promise<{ key: string; created: boolean }> {
  const stored = readDevApiKey(paths);
  if (stored && (await authenticateApiKey(db, stored)) === DEV_ORGANIZATION_ID) return { key: stored, created: false };
  const { key } = await createApiKey(db, DEV_ORGANIZATION_ID);
  saveDevApiKey(paths, key);
  return { key, created: true };
}

/** Starts both servers; if one fails, the other is stopped before the error is reported. */
async function startServers(
  paths: DevPaths,
  ports: Awaited<ReturnType<typeof resolveDevPorts>>,
  logger: Logger,
  track: (handle: { stop(): Promise<void> }) => void,
): Promise<{ temporal: TemporalServerHandle; mongo: MongoServerHandle }> {
  const [temporal, mongo] = await Promise.allSettled([
    startTemporalDevServer({
      ui: true,
      dbFile: paths.temporalDb,
      ip: ports.temporalIp,
      port: ports.temporalPort,
      uiPort: ports.uiPort,
      log: note,
    }).then((handle) => (track(handle), handle)),
    startMongoServer({
      backend: 'h2',
      dataDir: paths.mongoDir,
      log: (line) => logger.debug({ server: 'mongodb' }, line),
    }).then((handle) => (track(handle), handle)),
  ]);
  if (temporal.status === 'fulfilled' && mongo.status === 'fulfilled') return { temporal: temporal.value, mongo: mongo.value };
  await Promise.allSettled([
    temporal.status === 'fulfilled' ? temporal.value.stop() : undefined,
    mongo.status === 'fulfilled' ? mongo.value.stop() : undefined,
  ]);
  const failure = temporal.status === 'rejected' ? temporal.reason : (mongo as PromiseRejectedResult).reason;
  throw new StartupError((failure as Error).message);
}

/**
 * `hookrelay dev`: the embedded Temporal dev server (with its Web UI) and MongoDB,
 * state kept in `.hookrelay/`, all roles in this process, a development API key, a
 * loopback echo receiver, and the commands to try it. SIGINT/SIGTERM stop the roles,
 * then the servers; the servers are tied to this process, so they stop with it even
 * when it is killed.
 */
export async function devCommand(args: string[]): Promise<void> {
  parseArgs({ args, options: {}, strict: true, allowPositionals: false });
  const userConfig = loadConfig();
  if (userConfig.TEMPORAL_NAMESPACE !== 'default') {
    throw new StartupError(
      `hookrelay dev serves the dev server's "default" Temporal namespace; unset TEMPORAL_NAMESPACE (it is "${userConfig.TEMPORAL_NAMESPACE}")`,
    );
  }
  const paths = devPaths();
  const ports = await resolveDevPorts(process.env);
  ensureDevDir(paths);
  const releaseDir = claimDevDir(paths);

  const started: Array<{ stop(): Promise<void> }> = [];
  const stopServers = () => Promise.allSettled(started.splice(0).map((handle) => handle.stop()));
  let phase: 'servers' | 'roles' = 'servers';
  let signals = 0;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      note(`${signal} again: exiting now (the servers stop with this process)`);
      process.exit(130);
    }
    note(`${signal}: stopping (press Ctrl-C again to exit at once)`);
    requestStop();
    if (phase === 'servers') {
      void stopServers().finally(() => {
        releaseDir();
        process.exit(130);
      });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await assertDevPortsFree(ports);
    const logLevel = process.env.LOG_LEVEL?.trim() ? userConfig.LOG_LEVEL : 'warn';
    const logger = createLogger(logLevel);
    installSdkRuntime(logLevel);
    const encryption = process.env.HOOKRELAY_ENCRYPTION_KEY?.trim()
      ? { key: process.env.HOOKRELAY_ENCRYPTION_KEY.trim(), created: false }
      : loadOrCreateEncryptionKey(paths);
    if (encryption.created) note(`generated an encryption key for development secrets: ${paths.encryptionKey}`);

    note('starting the Temporal dev server and MongoDB…');
    const { temporal, mongo } = await startServers(paths, ports, logger, (handle) => started.push(handle));
    const config = loadConfig({
      ...process.env,
      MONGODB_URL: mongo.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_UI_URL: ports.uiUrl,
      HOOKRELAY_ENCRYPTION_KEY: encryption.key,
      HOOKRELAY_ALLOW_HTTP: 'true',
      HOOKRELAY_ALLOWED_CIDRS: mergeCidrs(userConfig.HOOKRELAY_ALLOWED_CIDRS),
      HOST: ports.apiHost,
      PORT: String(ports.apiPort),
      LOG_LEVEL: logLevel,
    });
    if (signals > 0) return;
    phase = 'roles';
    note('starting the worker, dispatcher and API…');

    let echo: EchoReceiver | undefined;
    const devExtras: RoleStarter = async () => {
      const previousPort = readEchoPort(paths);
      echo = await startEchoReceiver({ port: previousPort, print: say });
      if (previousPort !== undefined && previousPort !== echo.port) {
        note(`port ${previousPort} of the echo receiver is taken; it now listens on ${echo.port} (webhooks pointing at the old port will fail)`);
      }
      saveEchoPort(paths, echo.port);
      return { name: 'echo-receiver', stop: () => echo!.close() };
    };
    const ready: RoleStarter = async (services) => {
      const apiKey = await ensureDevApiKey(services.mongo.db, paths);
      say(
        devBanner({
          apiUrl: `http://${urlHost(ports.apiHost)}:${ports.apiPort}`,
          temporalUiUrl: ports.uiUrl,
          temporalAddress: temporal.address,
          namespace: config.TEMPORAL_NAMESPACE,
          mongoUrl: redact(mongo.url),
          mongoDb: config.MONGODB_DB,
          mongoKind: mongo.kind,
          stateDir: paths.dir,
          organizationId: DEV_ORGANIZATION_ID,
          apiKey: apiKey.key,
          apiKeyCreated: apiKey.created,
          echoUrl: echo!.url,
          cli: cliInvocation(join(repoRoot(), 'bin', 'hookrelay.js')),
          allowedCidrs: DEV_ALLOWED_CIDRS.join(','),
        }),
      );
      return { name: 'ready', stop: async () => undefined };
    };
    // Stopped in reverse: the API first, the worker after the dispatcher, the echo receiver last.
    await runUntilStopped(config, logger, [devExtras, startWorkerRole, startDispatcherRole, startApiRole, ready], stopRequested);
  } finally {
    await stopServers();
    releaseDir();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (signals > 0) note('stopped');
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  }
}

/**
 * Runs the roles until a signal (or a role ending by itself), then stops them in
 * reverse order. Roles that had not started when the signal came are not started.
 */
async function runUntilStopped(config: Config, logger: Logger, starters: RoleStarter[], stopRequested: Promise<void>): Promise<void> {
  const services = await openServices(config, logger);
  const metrics = createMetrics();
  const roles: Role[] = [];
  let stopping = false;
  void stopRequested.then(() => (stopping = true));
  try {
    for (const start of starters) {
      if (stopping) return;
      roles.push(await start(services, metrics, roles));
    }
    const ended = roles
      .filter((role) => role.done)
      .map((role) =>
        role.done!.then(
          () => {
            if (!stopping) logger.warn({ role: role.name }, 'role ended by itself; stopping everything');
          },
          (error: Error) => {
            logger.error({ err: error, role: role.name }, 'role failed; stopping everything');
            process.exitCode = 1;
          },
        ),
      );
    await Promise.race([stopRequested, ...ended]);
  } finally {
    stopping = true;
    for (const role of roles.reverse()) {
      await role.stop().catch((error: Error) => logger.error({ err: error, role: role.name }, 'stop failed'));
    }
    await services.close();
  }
}
