import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/env';
import { webhookSchemas } from '../../domain/webhook-schemas';
import { StartupError } from '../../runtime/startup-error';
import { verifyEncryptionKey } from '../../runtime/verify-encryption-key';
import { createSecretBox } from '../../security/secret-box';
import { parseCidrList } from '../../security/ssrf';
import { connectMongo } from '../../store/database';
import { validateTemplate } from '../../templates/engine';
import {
  ApplyError,
  executePlan,
  ORGANIZATION_ID_PATTERN,
  parseWebhookFile,
  planApply,
  type ApplyAction,
} from '../../webhooks/apply-webhooks';

const USAGE = 'usage: hookrelay apply -f webhooks.yaml [--org <organization id>] [--dry-run]';

const PAST: Record<ApplyAction, string> = { create: 'created', update: 'updated', unchanged: 'unchanged' };
const PLANNED: Record<ApplyAction, string> = { create: 'would create', update: 'would update', unchanged: 'unchanged' };

function readSource(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new StartupError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * `hookrelay apply -f webhooks.yaml`: creates the webhooks the file declares that do
 * not exist yet, updates those that differ, and reports the rest as unchanged, one line
 * each. A new webhook's signing secret is printed once, on its line. Nothing is written
 * unless the whole file is valid.
 */
export async function applyCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      file: { type: 'string', short: 'f' },
      org: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new StartupError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  if (!values.file) throw new StartupError(`-f <file> is required\n${USAGE}`);
  if (values.org !== undefined && !ORGANIZATION_ID_PATTERN.test(values.org)) {
    throw new StartupError('--org must be 1–200 letters, digits or _ . : -');
  }

  const config = loadConfig();
  const schemas = webhookSchemas({
    allowHttp: config.HOOKRELAY_ALLOW_HTTP,
    allowedCidrs: parseCidrList(config.HOOKRELAY_ALLOWED_CIDRS),
    validateTemplate: (field, source) => validateTemplate(field, source),
  });
  const fileName = values.file === '-' ? '<stdin>' : values.file;
  const parsed = parseWebhookFile(readSource(values.file), fileName, schemas);
  const problems = [...parsed.errors];
  if (values.org !== undefined && parsed.organizationId !== undefined && values.org !== parsed.organizationId) {
    problems.push(`${fileName}: organization_id "${parsed.organizationId}" differs from --org "${values.org}"`);
  }
  const organizationId = values.org ?? parsed.organizationId;
  if (organizationId === undefined && !parsed.syntaxError) problems.push(`${fileName}: no organization: give --org <id> or organization_id in the file`);
  if (problems.length > 0) {
    throw new StartupError(`${fileName} is not valid; nothing was applied:\n  ${problems.join('\n  ')}`);
  }

  if (!config.MONGODB_URL) throw new StartupError('MONGODB_URL is required');
  if (!config.HOOKRELAY_ENCRYPTION_KEY) {
    throw new StartupError('HOOKRELAY_ENCRYPTION_KEY is required: webhook secrets are stored encrypted with it');
  }
  const box = createSecretBox(config.HOOKRELAY_ENCRYPTION_KEY);
  const mongo = await connectMongo(config.MONGODB_URL, config.MONGODB_DB);
  try {
    await verifyEncryptionKey(mongo.db, box);
    const plan = await planApply(mongo.db, organizationId!, parsed.entries, box).catch((error: unknown) => {
      if (error instanceof ApplyError) {
        throw new StartupError(`${fileName} cannot be applied; nothing was applied:\n  ${error.problems.join('\n  ')}`);
      }
      throw error;
    });
    if (values['dry-run']) {
      for (const change of plan) {
        console.log(`${PLANNED[change.action].padEnd(12)} ${change.existing?._id ?? '-'.padEnd(19)}  ${change.entry.name}`);
      }
      console.error(`dry run: nothing was written (organization ${organizationId})`);
      return;
    }
    const results = await executePlan(mongo.db, organizationId!, plan, box);
    for (const result of results) {
      const secret = result.signingSecret ? `  signing_secret ${result.signingSecret}` : '';
      console.log(`${PAST[result.action].padEnd(9)} ${result.webhookId}  ${result.name}${secret}`);
    }
    const created = results.filter((result) => result.signingSecret).length;
    const counts = (['create', 'update', 'unchanged'] as const).map(
      (action) => `${results.filter((result) => result.action === action).length} ${PAST[action]}`,
    );
    console.error(
      `organization ${organizationId}: ${counts.join(', ')}` +
        (created > 0 ? '; signing secrets are shown only now (later: GET /v1/organizations/webhooks/{id}/secret)' : ''),
    );
  } finally {
    await mongo.close();
  }
}
