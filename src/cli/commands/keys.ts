import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/env';
import { StartupError } from '../../runtime/startup-error';
import { looksLikeApiKey } from '../../security/api-keys';
import { API_KEY_DISPLAY_PREFIX_LENGTH, createApiKey, listApiKeys, revokeApiKeys } from '../../store/api-key-store';
import { connectMongo, type MongoHandle } from '../../store/database';

const ORGANIZATION_ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const USAGE = 'usage: hookrelay keys create --org <id> | keys revoke <prefix> | keys list [--org <id>]';

async function withDatabase<T>(work: (mongo: MongoHandle) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (!config.MONGODB_URL) throw new StartupError('MONGODB_URL is required');
  const mongo = await connectMongo(config.MONGODB_URL, config.MONGODB_DB);
  try {
    return await work(mongo);
  } finally {
    await mongo.close();
  }
}

function organizationOption(args: string[], required: boolean): string | undefined {
  const { values, positionals } = parseArgs({ args, options: { org: { type: 'string' } }, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new StartupError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  if (values.org === undefined) {
    if (required) throw new StartupError(`--org is required\n${USAGE}`);
    return undefined;
  }
  if (!ORGANIZATION_ID.test(values.org)) {
    throw new StartupError('--org must be 1–200 letters, digits or _ . : -');
  }
  return values.org;
}

/** Prints the key alone on stdout (scripts capture it); the rest goes to stderr. */
async function create(args: string[]): Promise<void> {
  const organizationId = organizationOption(args, true)!;
  const { key, prefix } = await withDatabase((mongo) => createApiKey(mongo.db, organizationId));
  console.log(key);
  console.error(`created API key ${prefix}… for organization ${organizationId}; it is shown only once (revoke: hookrelay keys revoke ${prefix})`);
}

async function revoke(args: string[]): Promise<void> {
  const [prefix, ...rest] = args;
  if (!prefix || rest.length > 0) throw new StartupError(USAGE);
  if (!looksLikeApiKey(prefix) && prefix.length !== API_KEY_DISPLAY_PREFIX_LENGTH) {
    throw new StartupError(`give the ${API_KEY_DISPLAY_PREFIX_LENGTH}-character prefix shown by "keys create" or "keys list" (or the whole key)`);
  }
  const revoked = await withDatabase((mongo) => revokeApiKeys(mongo.db, prefix));
  if (revoked === 0) throw new StartupError(`no active API key matches ${prefix}`);
  console.log(`revoked ${revoked} API key${revoked === 1 ? '' : 's'}`);
}

async function list(args: string[]): Promise<void> {
  const organizationId = organizationOption(args, false);
  const keys = await withDatabase((mongo) => listApiKeys(mongo.db, organizationId));
  for (const key of keys) {
    const state = key.revoked_at ? `revoked ${key.revoked_at.toISOString()}` : 'active';
    console.log(`${key.prefix}\t${key.organization_id}\t${key.created_at.toISOString()}\t${state}`);
  }
}

/** `hookrelay keys create|revoke|list`: API keys, stored hashed. */
export async function keysCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  switch (action) {
    case 'create':
      return create(rest);
    case 'revoke':
      return revoke(rest);
    case 'list':
      return list(rest);
    default:
      throw new StartupError(USAGE);
  }
}
