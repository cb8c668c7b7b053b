import type { Db } from 'mongodb';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import type { WebhookCreateInput, WebhookSchemas } from '../domain/webhook-schemas';
import { MASKED_VALUE, openChannel, sealChannel, type Sealer } from '../store/channel-secrets';
import {
  insertWebhook,
  updateWebhook,
  webhooksCollection,
  type StoredChannel,
  type WebhookChanges,
  type WebhookDocument,
} from '../store/webhook-store';
import { assertNoMaskedSecrets, MaskedSecretError } from './channel-updates';
import { buildWebhookDocument } from './new-webhook';

/**
 * `hookrelay apply`: declarative webhook definitions (docs/operations.md, Declaring
 * webhooks in a file), idempotent by `webhook_name` within one organization. A file is either
 *
 *   organization_id: org_acme        # optional when --org is given
 *   webhooks:
 *     - webhook_name: orders
 *       event_types: [object.created]
 *       channels:
 *         - channel: webhook
 *           configs: { url: https://example.com/hooks }
 *
 * or just the list under `webhooks`. Each entry is validated with the API's create
 * schema; every problem is reported with the file, line, entry and field before
 * anything is written. Webhooks missing from the file are left alone.
 */

export const ORGANIZATION_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;
const TOP_LEVEL_KEYS = ['organization_id', 'webhooks'];
const ENTRY_KEYS = ['webhook_name', 'event_types', 'channels', 'is_active', 'retry_policy'];

export interface WebhookEntry {
  /** Position in the file's list, from 0. */
  index: number;
  name: string;
  input: WebhookCreateInput;
}

export interface ParsedWebhookFile {
  organizationId?: string;
  entries: WebhookEntry[];
  /** Human-readable problems, each naming the file, line, entry and field. */
  errors: string[];
  /** The file is not YAML at all: nothing else in it could be read. */
  syntaxError?: boolean;
}

export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type PathPart = string | number;

function formatPath(path: readonly PathPart[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part), '');
}

/** Line of the deepest node the path reaches (the field itself, else its closest parent). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PathPart[]): number | undefined {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return undefined;
}

/** Parses and validates a webhooks file; never touches the database. */
export function parseWebhookFile(text: string, fileName: string, schemas: Pick<WebhookSchemas, 'create'>): ParsedWebhookFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (path: readonly PathPart[]) => {
    const line = lineOf(doc, lines, path);
    return line === undefined ? fileName : `${fileName}:${line}`;
  };
  if (doc.errors.length > 0) {
    return {
      entries: [],
      syntaxError: true,
      errors: doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return `${fileName}:${line}:${col}: not valid YAML: ${error.message.split('\n')[0]}`;
      }),
    };
  }

  const root: unknown = doc.toJS();
  const errors: string[] = [];
  let organizationId: string | undefined;
  let list: unknown;
  let listPath: PathPart[];
  if (Array.isArray(root)) {
    list = root;
    listPath = [];
  } else if (root !== null && typeof root === 'object') {
    const record = root as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!TOP_LEVEL_KEYS.includes(key)) errors.push(`${at([key])}: unknown key "${key}" (expected ${TOP_LEVEL_KEYS.join(', ')})`);
    }
    if (record.organization_id !== undefined) {
      if (typeof record.organization_id !== 'string' || !ORGANIZATION_ID_PATTERN.test(record.organization_id)) {
        errors.push(`${at(['organization_id'])}: organization_id must be 1–200 letters, digits or _ . : -`);
      } else {
        organizationId = record.organization_id;
      }
    }
    list = record.webhooks;
    listPath = ['webhooks'];
    if (list === undefined) errors.push(`${fileName}: no "webhooks" list`);
  } else {
    return { entries: [], syntaxError: true, errors: [`${fileName}: expected a "webhooks" list (or a mapping with organization_id and webhooks)`] };
  }
  if (list !== undefined && !Array.isArray(list)) {
    errors.push(`${at(listPath)}: "webhooks" must be a list of webhook definitions`);
    list = [];
  }

  const entries: WebhookEntry[] = [];
  const firstByName = new Map<string, number>();
  ((list as unknown[] | undefined) ?? []).forEach((raw, index) => {
    const entryPath = [...listPath, index];
    const rawName = (raw as { webhook_name?: unknown } | null)?.webhook_name;
    const label = `webhooks[${index}]${typeof rawName === 'string' && rawName.trim() ? ` (${rawName.trim()})` : ''}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      errors.push(`${at(entryPath)}: ${label}: must be a mapping with webhook_name, event_types and channels`);
      return;
    }
    // Names must be unique in the file, whether or not the entries carrying them are valid.
    if (typeof rawName === 'string' && rawName.trim()) {
      const earlier = firstByName.get(rawName.trim());
      if (earlier !== undefined) {
        errors.push(`${at([...entryPath, 'webhook_name'])}: ${label}: webhook_name "${rawName.trim()}" is already used by webhooks[${earlier}]; names must be unique`);
      } else {
        firstByName.set(rawName.trim(), index);
      }
    }
    for (const key of Object.keys(raw)) {
      if (!ENTRY_KEYS.includes(key)) {
        errors.push(`${at([...entryPath, key])}: ${label}: unknown field "${key}" (expected ${ENTRY_KEYS.join(', ')})`);
      }
    }
    const parsed = schemas.create.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      for (const issue of (parsed.error as z.ZodError).issues) {
        const field = formatPath(issue.path as PathPart[]);
        errors.push(`${at([...entryPath, ...(issue.path as PathPart[])])}: ${label}${field ? ` ${field}` : ''}: ${issue.message}`);
      }
      return;
    }
    try {
      assertNoMaskedSecrets(parsed.data.channels as StoredChannel[]);
    } catch (error) {
      if (!(error instanceof MaskedSecretError)) throw error;
      errors.push(
        `${at([...entryPath, 'channels', error.channelIndex])}: ${label} channels[${error.channelIndex}]: "${MASKED_VALUE}" is the API's mask for a secret; an apply file needs the real value`,
      );
      return;
    }
    entries.push({ index, name: parsed.data.webhook_name, input: parsed.data });
  });
  return { organizationId, entries, errors };
}

export type ApplyAction = 'create' | 'update' | 'unchanged';

export interface PlannedChange {
  entry: WebhookEntry;
  action: ApplyAction;
  existing?: WebhookDocument;
}

export interface AppliedChange {
  action: ApplyAction;
  webhookId: string;
  name: string;
  /** Only for a webhook created now: its signing secret, shown once. */
  signingSecret?: string;
}

/** JSON with sorted keys and without unset (null/undefined) fields, for comparing definitions. */
function canonical(value: unknown): string {
  const normalize = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(normalize);
    if (item !== null && typeof item === 'object' && !(item instanceof Date)) {
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .filter((key) => (item as Record<string, unknown>)[key] !== undefined && (item as Record<string, unknown>)[key] !== null)
          .map((key) => [key, normalize((item as Record<string, unknown>)[key])]),
      );
    }
    return item;
  };
  return JSON.stringify(normalize(value));
}

function definitionOf(input: WebhookCreateInput): Record<string, unknown> {
  return {
    webhook_name: input.webhook_name,
    event_types: input.event_types,
    channels: input.channels,
    is_active: input.is_active,
    retry_policy: input.retry_policy ?? null,
  };
}

function storedDefinition(webhook: WebhookDocument, box: Sealer): Record<string, unknown> {
  return {
    webhook_name: webhook.webhook_name,
    event_types: webhook.event_types,
    channels: webhook.channels.map((channel) => openChannel(channel, box)),
    is_active: webhook.is_active,
    retry_policy: webhook.retry_policy ?? null,
  };
}

/** Decides create / update / unchanged for each entry; reports names that match several webhooks. */
export async function planApply(db: Db, organizationId: string, entries: WebhookEntry[], box: Sealer): Promise<PlannedChange[]> {
  const names = entries.map((entry) => entry.name);
  const existing = await webhooksCollection(db)
    .find({ organization_id: organizationId, webhook_name: { $in: names } })
    .toArray();
  const byName = new Map<string, WebhookDocument[]>();
  for (const webhook of existing) byName.set(webhook.webhook_name, [...(byName.get(webhook.webhook_name) ?? []), webhook]);

  const problems: string[] = [];
  const plan: PlannedChange[] = [];
  for (const entry of entries) {
    const matches = byName.get(entry.name) ?? [];
    if (matches.length > 1) {
      problems.push(
        `webhooks[${entry.index}] (${entry.name}): ${matches.length} webhooks of ${organizationId} are named "${entry.name}" (${matches
          .map((webhook) => webhook._id)
          .join(', ')}); apply identifies webhooks by name, so rename or delete all but one`,
      );
      continue;
    }
    const [current] = matches;
    if (!current) {
      plan.push({ entry, action: 'create' });
      continue;
    }
    const same = canonical(definitionOf(entry.input)) === canonical(storedDefinition(current, box));
    plan.push({ entry, action: same ? 'unchanged' : 'update', existing: current });
  }
  if (problems.length > 0) throw new ApplyError(problems);
  return plan;
}

/** Writes the plan: inserts new webhooks, replaces changed ones (as PUT does). */
export async function executePlan(db: Db, organizationId: string, plan: PlannedChange[], box: Sealer): Promise<AppliedChange[]> {
  const results: AppliedChange[] = [];
  for (const { entry, action, existing } of plan) {
    const channels = entry.input.channels as StoredChannel[];
    if (action === 'create') {
      const { webhook, signingSecret } = buildWebhookDocument({ ...entry.input, channels }, organizationId, box);
      await insertWebhook(db, webhook);
      results.push({ action, webhookId: webhook._id, name: entry.name, signingSecret });
    } else if (action === 'update') {
      const changes: WebhookChanges = {
        webhook_name: entry.input.webhook_name,
        event_types: entry.input.event_types,
        channels: channels.map((channel) => sealChannel(channel, box)),
        is_active: entry.input.is_active,
        retry_policy: entry.input.retry_policy ?? null,
        // Turning a disabled webhook back on clears why it was disabled (as PUT does).
        disabled_reason: entry.input.is_active ? null : existing!.disabled_reason,
      };
      const updated = await updateWebhook(db, existing!._id, organizationId, changes);
      if (!updated) throw new ApplyError([`webhooks[${entry.index}] (${entry.name}): webhook ${existing!._id} was deleted while applying`]);
      results.push({ action, webhookId: existing!._id, name: entry.name });
    } else {
      results.push({ action, webhookId: existing!._id, name: entry.name });
    }
  }
  return results;
}
