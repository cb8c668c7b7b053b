import { relative, isAbsolute } from 'node:path';

/** Everything the start-up message of `hookrelay dev` shows. */
export interface DevBannerInfo {
  apiUrl: string;
  temporalUiUrl: string;
  temporalAddress: string;
  namespace: string;
  mongoUrl: string;
  mongoDb: string;
  mongoKind: 'external' | 'mongod' | 'standin';
  stateDir: string;
  organizationId: string;
  apiKey: string;
  apiKeyCreated: boolean;
  echoUrl: string;
  /** How to run the CLI from the current directory, e.g. `node bin/hookrelay.js`. */
  cli: string;
  allowedCidrs: string;
}

export const DEV_ORGANIZATION_ID = 'org_dev';
export const DEV_WEBHOOK_NAME = 'dev-echo';
export const DEV_EXAMPLE_EVENT_TYPE = 'object.created';

/** `node bin/hookrelay.js`, with the path relative to the working directory when it is below it. */
export function cliInvocation(binPath: string, cwd = process.cwd()): string {
  const rel = relative(cwd, binPath);
  const shown = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : binPath;
  return `node ${shellQuote(shown)}`;
}

/** Quotes for a POSIX shell only when needed. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The webhook the printed curl creates: every event type, delivered to the echo receiver. */
export function devWebhookBody(echoUrl: string): Record<string, unknown> {
  return {
    webhook_name: DEV_WEBHOOK_NAME,
    event_types: ['*'],
    channels: [{ channel: 'webhook', configs: { url: echoUrl } }],
  };
}

export function createWebhookCurl(info: Pick<DevBannerInfo, 'apiUrl' | 'apiKey' | 'echoUrl'>): string {
  return [
    `curl -sS -X POST ${shellQuote(`${info.apiUrl}/v1/organizations/webhooks`)} \\`,
    `  -H ${shellQuote(`Authorization: Bearer ${info.apiKey}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify(devWebhookBody(info.echoUrl)))}`,
  ].join('\n');
}

export function emitCommandLine(info: Pick<DevBannerInfo, 'cli' | 'mongoUrl' | 'mongoDb' | 'organizationId'>): string {
  const env = [`MONGODB_URL=${shellQuote(info.mongoUrl)}`];
  if (info.mongoDb !== 'hookrelay') env.push(`MONGODB_DB=${shellQuote(info.mongoDb)}`);
  const metadata = JSON.stringify({ bucket_id: 'bkt_demo', object_id: 'obj_demo' });
  return `${env.join(' ')} ${info.cli} emit --type ${DEV_EXAMPLE_EVENT_TYPE} --org ${info.organizationId} --metadata ${shellQuote(metadata)}`;
}

export function workflowSearchUrl(temporalUiUrl: string, namespace: string, eventType: string): string {
  const query = `HookrelayEventType="${eventType}"`;
  return `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

const MONGO_KINDS: Record<DevBannerInfo['mongoKind'], string> = {
  external: 'MONGODB_URL',
  mongod: 'mongod from PATH',
  standin: 'embedded MongoDB-compatible server',
};

export function devBanner(info: DevBannerInfo): string {
  const rows: Array<[string, string]> = [
    ['API', info.apiUrl],
    ['API docs', `${info.apiUrl}/docs`],
    ['Temporal UI', info.temporalUiUrl],
    ['Temporal', `${info.temporalAddress} (namespace ${info.namespace})`],
    ['MongoDB', `${info.mongoUrl} (${MONGO_KINDS[info.mongoKind]})`],
    ['Echo receiver', `${info.echoUrl} (prints every delivery it receives)`],
    ['Organization', info.organizationId],
    ['API key', `${info.apiKey} (development key${info.apiKeyCreated ? ', just created' : ''}; kept in ${info.stateDir})`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    '',
    `hookrelay dev is running — state in ${info.stateDir}`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    `Development only: HOOKRELAY_ALLOW_HTTP=true and HOOKRELAY_ALLOWED_CIDRS=${info.allowedCidrs} let webhooks`,
    'deliver over plain http to loopback addresses. Never use these settings in production.',
    '',
    '1. Create a webhook that delivers every event to the echo receiver:',
    '',
    createWebhookCurl(info),
    '',
    '2. Emit an event as the engine would (from another terminal):',
    '',
    emitCommandLine(info),
    '',
    `3. Find its workflow in the Temporal UI (search attribute HookrelayEventType):`,
    '',
    workflowSearchUrl(info.temporalUiUrl, info.namespace, DEV_EXAMPLE_EVENT_TYPE),
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ].join('\n');
}
