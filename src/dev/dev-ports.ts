import { createServer } from 'node:net';
import { StartupError } from '../runtime/startup-error';
import { freePort } from '../infra/free-port';

/** Where `hookrelay dev` listens: fixed ports by default, the usual variables when set. */
export interface DevPorts {
  /** Address the embedded Temporal frontend binds to (TEMPORAL_ADDRESS, default 127.0.0.1:7233). */
  temporalIp: string;
  temporalPort: number;
  /** Temporal Web UI port (TEMPORAL_UI_URL's port, default the frontend port + 1000, i.e. 8233). */
  uiPort: number;
  /** TEMPORAL_UI_URL as the user gave it, else derived from the UI port. */
  uiUrl: string;
  /** API listen address (HOST, PORT; default 127.0.0.1:3000). */
  apiHost: string;
  apiPort: number;
}

export const DEV_DEFAULTS = { temporalPort: 7233, uiPortOffset: 1000, apiHost: '127.0.0.1', apiPort: 3000 } as const;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '0.0.0.0', '::']);

/** A host that can appear in a URL: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  const reachable = bare === '0.0.0.0' ? '127.0.0.1' : bare === '::' ? '::1' : bare;
  return reachable.includes(':') ? `[${reachable}]` : reachable;
}

function bindIp(host: string): string {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' ? '127.0.0.1' : bare;
}

/**
 * Reads the dev ports from the environment. `hookrelay dev` runs its own Temporal
 * server, so TEMPORAL_ADDRESS may only move it to another local port.
 */
export async function resolveDevPorts(env: NodeJS.ProcessEnv): Promise<DevPorts> {
  let temporalIp = '127.0.0.1';
  let temporalPort: number = DEV_DEFAULTS.temporalPort;
  const address = env.TEMPORAL_ADDRESS?.trim();
  if (address) {
    const separator = address.lastIndexOf(':');
    const host = address.slice(0, separator);
    const port = Number(address.slice(separator + 1));
    if (!LOCAL_HOSTS.has(host) || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new StartupError(
        `hookrelay dev starts its own Temporal server, so TEMPORAL_ADDRESS must be a local address such as 127.0.0.1:7233 (got "${address}"); to use an existing Temporal server run \`hookrelay start\``,
      );
    }
    temporalIp = bindIp(host);
    temporalPort = port;
  }

  let uiPort = temporalPort + DEV_DEFAULTS.uiPortOffset;
  let uiUrl: string | undefined;
  const uiSetting = env.TEMPORAL_UI_URL?.trim();
  if (uiSetting) {
    let url: URL;
    try {
      url = new URL(uiSetting);
    } catch {
      throw new StartupError(`TEMPORAL_UI_URL must be a URL such as http://127.0.0.1:8233 (got "${uiSetting}")`);
    }
    if (url.protocol !== 'http:' || !LOCAL_HOSTS.has(url.hostname)) {
      throw new StartupError(
        `hookrelay dev serves the Temporal UI itself, so TEMPORAL_UI_URL must be a local http URL such as http://127.0.0.1:8233 (got "${uiSetting}")`,
      );
    }
    uiPort = url.port ? Number(url.port) : 80;
    uiUrl = uiSetting.replace(/\/+$/, '');
  }
  if (uiPort > 65535) uiPort = await freePort(temporalIp);
  uiUrl ??= `http://${urlHost(temporalIp)}:${uiPort}`;

  const apiHost = env.HOST?.trim() || DEV_DEFAULTS.apiHost;
  let apiPort: number = DEV_DEFAULTS.apiPort;
  if (env.PORT?.trim()) {
    apiPort = Number(env.PORT);
    // PORT=0 means "any": pick one now so the printed URLs are right.
    if (apiPort === 0) apiPort = await freePort(bindIp(apiHost));
  }
  return { temporalIp, temporalPort, uiPort, uiUrl, apiHost, apiPort };
}

/** Fails with a clear message when something already listens on host:port. */
export async function assertPortFree(host: string, port: number, what: string, setting: string): Promise<void> {
  const problem = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ host: bindIp(host), port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (!problem) return;
  if (problem.code === 'EADDRINUSE') {
    throw new StartupError(
      `port ${port} on ${host} (${what}) is already in use — is another hookrelay dev or Temporal server running? Stop it, or choose another port with ${setting}`,
    );
  }
  throw new StartupError(`cannot listen on ${host}:${port} (${what}): ${problem.message}`);
}

/** Checks every port `hookrelay dev` is about to bind, before anything starts. */
export async function assertDevPortsFree(ports: DevPorts): Promise<void> {
  await assertPortFree(ports.temporalIp, ports.temporalPort, 'Temporal frontend', 'TEMPORAL_ADDRESS=127.0.0.1:<port>');
  await assertPortFree(ports.temporalIp, ports.uiPort, 'Temporal Web UI', 'TEMPORAL_UI_URL=http://127.0.0.1:<port>');
  await assertPortFree(ports.apiHost, ports.apiPort, 'hookrelay API', 'PORT=<port>');
}
