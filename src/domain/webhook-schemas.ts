import { z } from 'zod';
import { checkLiteralDestination, type ParsedCidr } from '../security/ssrf';
import { EVENT_TYPES } from './event-catalog';
import { isValidEventTypePattern, isWellFormedEventTypePattern, matchesEventType } from './event-type-pattern';
import { retryPolicySchema } from './retry-policy';
import { findUnstorableJson } from './storable-json';

/**
 * REST API input schemas for webhooks (Mixpeek's `Webhook`, `WebhookChannel` and channel
 * configs, docs/api.md), built by a factory because destination rules depend on
 * configuration (HOOKRELAY_ALLOW_HTTP, HOOKRELAY_ALLOWED_CIDRS) and template syntax is
 * checked by the template engine.
 *
 * Unknown keys are dropped (so a `Webhook` read from GET can be sent back with PUT);
 * `null` for an optional field means "not set".
 */

export const NOTIFICATION_CHANNELS = ['webhook', 'slack', 'email', 'sms'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export const NOTIFICATION_CONTENT_TYPES = ['plain_text', 'html', 'markdown', 'json'] as const;
export type NotificationContentType = (typeof NOTIFICATION_CONTENT_TYPES)[number];

export const TEMPLATE_FIELDS = ['payload_template', 'blocks_template', 'subject_template', 'body_template', 'message_template'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

/** Headers hookrelay sets itself; a subscriber may not override them. */
export const RESERVED_HEADER_NAMES: readonly string[] = [
  'content-type',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
];

export const WEBHOOK_LIMITS = {
  nameLength: 200,
  eventTypes: 100,
  channels: 10,
  headers: 50,
  headerNameLength: 256,
  headerValueLength: 8192,
  urlLength: 2048,
  recipients: 50,
  phoneNumbers: 20,
  templateLength: 100_000,
  timeoutSeconds: { min: 1, max: 30, default: 10 },
} as const;

export interface WebhookSchemaOptions {
  /** Accept http:// destinations (HOOKRELAY_ALLOW_HTTP, development only). */
  allowHttp?: boolean;
  /** Destination ranges exempt from the SSRF guard (HOOKRELAY_ALLOWED_CIDRS). */
  allowedCidrs?: readonly ParsedCidr[];
  /**
   * Checks a template's syntax; returns an error message, or undefined when it is fine.
   * For payload_template (a JSON object) it is called once per string value in it.
   */
  validateTemplate?: (field: TemplateField, source: string) => string | undefined;
}

// RFC 7230 §3.2.6 token.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values may hold visible characters, spaces and tabs; no CR, LF, NUL or other controls.
const HEADER_VALUE_FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// E.164: "+", a non-zero country-code digit, 8–15 digits in all.
const E164 = /^\+[1-9]\d{7,14}$/;

/** Error for a field's base type: "is required" when absent, else what it should be. */
function expected(field: string, what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? `${field} is required` : `${field} must be ${what}`) };
}

function requiredString(field: string) {
  return z.string(expected(field, 'a string'));
}

/**
 * Drops keys whose value is undefined (an explicit null read as "not set"), so parsed
 * configs can be stored as they are: the MongoDB driver would write undefined as null.
 */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

/** An optional field that also accepts null (as Mixpeek's schema does) and reads it as "not set". */
function optionalNullable<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value) => value ?? undefined);
}

export function webhookSchemas(options: WebhookSchemaOptions = {}) {
  const allowHttp = options.allowHttp ?? false;
  const allowedCidrs = options.allowedCidrs ?? [];
  const validateTemplate = options.validateTemplate;

  /** A URL hookrelay connects to: https (http when allowed), no credentials, no blocked literal address. */
  function destinationUrl(field: string) {
    return requiredString(field)
      .trim()
      .min(1, `${field} must not be empty`)
      .max(WEBHOOK_LIMITS.urlLength, `${field} is longer than ${WEBHOOK_LIMITS.urlLength} characters`)
      .superRefine((value, ctx) => {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          ctx.addIssue({ code: 'custom', message: `${field} must be an absolute URL such as https://example.com/hook` });
          return;
        }
        const allowedProtocols = allowHttp ? ['https:', 'http:'] : ['https:'];
        if (!allowedProtocols.includes(url.protocol)) {
          ctx.addIssue({
            code: 'custom',
            message: allowHttp
              ? `${field} must use https:// or http://, not ${url.protocol}//`
              : url.protocol === 'http:'
                ? `${field} must use https:// (plain http:// is accepted only when HOOKRELAY_ALLOW_HTTP is set)`
                : `${field} must use https://, not ${url.protocol}//`,
          });
          return;
        }
        if (url.username !== '' || url.password !== '') {
          ctx.addIssue({ code: 'custom', message: `${field} must not contain credentials (user:password@); use headers instead` });
          return;
        }
        if (url.hostname === '') {
          ctx.addIssue({ code: 'custom', message: `${field} has no host` });
          return;
        }
        const blocked = checkLiteralDestination(value, allowedCidrs);
        if (blocked) {
          ctx.addIssue({ code: 'custom', message: `${field} points to a blocked address: ${blocked.reason}` });
        }
      });
  }

  function templateString(field: TemplateField) {
    return z
      .string({ error: `${field} must be a string` })
      .max(WEBHOOK_LIMITS.templateLength, `${field} is longer than ${WEBHOOK_LIMITS.templateLength} characters`)
      .superRefine((source, ctx) => {
        const problem = validateTemplate?.(field, source);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${field} is not a valid template: ${problem}` });
      });
  }

  // payload_template is a JSON object whose string values are templates.
  const payloadTemplate = z
    .record(z.string(), z.unknown(), { error: 'payload_template must be a JSON object' })
    .superRefine((template, ctx) => {
      // Checked first: it also bounds the depth the recursive walk below goes to.
      const unstorable = findUnstorableJson(template);
      if (unstorable) {
        ctx.addIssue({ code: 'custom', path: unstorable.path, message: `payload_template: ${unstorable.message}` });
        return;
      }
      if (!validateTemplate) return;
      const visit = (value: unknown, path: (string | number)[]): void => {
        if (typeof value === 'string') {
          const problem = validateTemplate('payload_template', value);
          if (problem !== undefined) {
            ctx.addIssue({ code: 'custom', path, message: `payload_template value is not a valid template: ${problem}` });
          }
        } else if (Array.isArray(value)) {
          value.forEach((item, index) => visit(item, [...path, index]));
        } else if (value !== null && typeof value === 'object') {
          for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
        }
      };
      for (const [key, value] of Object.entries(template)) visit(value, [key]);
    });

  const headers = z
    .record(z.string(), z.string({ error: 'header values must be strings' }), { error: 'headers must be an object of name → value' })
    .superRefine((record, ctx) => {
      const names = Object.keys(record);
      if (names.length > WEBHOOK_LIMITS.headers) {
        ctx.addIssue({ code: 'custom', message: `at most ${WEBHOOK_LIMITS.headers} headers are allowed, got ${names.length}` });
      }
      const seen = new Map<string, string>();
      for (const name of names) {
        const lower = name.toLowerCase();
        if (!HEADER_NAME.test(name) || name.length > WEBHOOK_LIMITS.headerNameLength) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `"${name}" is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`,
          });
          continue;
        }
        if (RESERVED_HEADER_NAMES.includes(lower)) {
          ctx.addIssue({ code: 'custom', path: [name], message: `header "${name}" is set by hookrelay and cannot be overridden` });
          continue;
        }
        const earlier = seen.get(lower);
        if (earlier !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `header "${name}" duplicates "${earlier}" (header names are case-insensitive)`,
          });
          continue;
        }
        seen.set(lower, name);
        const value = record[name] ?? '';
        if (HEADER_VALUE_FORBIDDEN.test(value)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `value of header "${name}" contains a control character (CR, LF, NUL…), which is not allowed`,
          });
        } else if (value.length > WEBHOOK_LIMITS.headerValueLength) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `value of header "${name}" is longer than ${WEBHOOK_LIMITS.headerValueLength} characters`,
          });
        }
      }
    });

  /** A channel's `configs` object; parsed output omits unset fields. */
  const channelConfig = <Shape extends z.ZodRawShape>(channel: NotificationChannel, shape: Shape) =>
    z.object(shape, expected('configs', `an object with the ${channel} channel's settings`)).transform(compact);

  const webhookConfig = channelConfig('webhook', {
    url: destinationUrl('url'),
    headers: optionalNullable(headers),
    payload_template: optionalNullable(payloadTemplate),
    timeout: z
      .number({ error: 'timeout must be a number of seconds' })
      .min(WEBHOOK_LIMITS.timeoutSeconds.min, `timeout must be at least ${WEBHOOK_LIMITS.timeoutSeconds.min} second`)
      .max(WEBHOOK_LIMITS.timeoutSeconds.max, `timeout must be at most ${WEBHOOK_LIMITS.timeoutSeconds.max} seconds`)
      .default(WEBHOOK_LIMITS.timeoutSeconds.default),
    // Mixpeek's examples send "method": "POST"; nothing else is supported.
    method: optionalNullable(
      z
        .string()
        .transform((method) => method.toUpperCase())
        .pipe(z.literal('POST', { error: 'method must be POST, the only method webhooks are sent with' })),
    ),
  });

  const shortText = (field: string, max: number) =>
    optionalNullable(z.string({ error: `${field} must be a string` }).max(max, `${field} is longer than ${max} characters`));

  const slackConfig = channelConfig('slack', {
    webhook_url: destinationUrl('webhook_url'),
    channel: shortText('channel', 200),
    username: shortText('username', 200),
    icon_emoji: shortText('icon_emoji', 100),
    // Fetched by Slack, not by hookrelay: only needs to be a web URL.
    icon_url: optionalNullable(
      z
        .url({ protocol: /^https?$/, error: 'icon_url must be an http(s) URL' })
        .max(WEBHOOK_LIMITS.urlLength, `icon_url is longer than ${WEBHOOK_LIMITS.urlLength} characters`),
    ),
    blocks_template: optionalNullable(templateString('blocks_template')),
  });

  const emailAddress = (field: string) =>
    z.email({ error: (issue) => `${field} contains "${String(issue.input)}", which is not an email address` });
  const addressList = (field: string) =>
    z
      .array(emailAddress(field), expected(field, 'a list of email addresses'))
      .max(WEBHOOK_LIMITS.recipients, `${field} may hold at most ${WEBHOOK_LIMITS.recipients} addresses`);

  const emailConfig = channelConfig('email', {
    to_addresses: addressList('to_addresses').min(1, 'to_addresses must name at least one recipient'),
    cc_addresses: optionalNullable(addressList('cc_addresses')),
    bcc_addresses: optionalNullable(addressList('bcc_addresses')),
    subject_template: optionalNullable(templateString('subject_template')),
    body_template: optionalNullable(templateString('body_template')),
    content_type: z
      .enum(NOTIFICATION_CONTENT_TYPES, { error: 'content_type must be one of plain_text, html, markdown, json' })
      .default('html'),
  });

  const smsConfig = channelConfig('sms', {
    phone_numbers: z
      .array(
        z.string().regex(E164, 'phone numbers must be in E.164 form: "+" and 8–15 digits, no spaces, e.g. +14155550123'),
        expected('phone_numbers', 'a list of phone numbers'),
      )
      .min(1, 'phone_numbers must hold at least one number')
      .max(WEBHOOK_LIMITS.phoneNumbers, `phone_numbers may hold at most ${WEBHOOK_LIMITS.phoneNumbers} numbers`),
    message_template: optionalNullable(templateString('message_template')),
  });

  const channel = z.discriminatedUnion(
    'channel',
    [
      z.object({ channel: z.literal('webhook'), configs: webhookConfig }),
      z.object({ channel: z.literal('slack'), configs: slackConfig }),
      z.object({ channel: z.literal('email'), configs: emailConfig }),
      z.object({ channel: z.literal('sms'), configs: smsConfig }),
    ],
    { error: `channel must be one of ${NOTIFICATION_CHANNELS.map((name) => `"${name}"`).join(', ')}` },
  );

  const eventTypePattern = z.string({ error: 'event types must be strings' }).superRefine((pattern, ctx) => {
    if (isValidEventTypePattern(pattern, EVENT_TYPES)) return;
    let message: string;
    if (!isWellFormedEventTypePattern(pattern)) {
      message = `"${pattern}" is not an event type or pattern: use a type such as "object.created", "*", or a prefix wildcard such as "object.*"`;
    } else if (pattern.endsWith('.*')) {
      message = `"${pattern}" matches no known event type`;
    } else {
      const family = pattern.split('.')[0] ?? '';
      const related = EVENT_TYPES.filter((type) => matchesEventType(`${family}.*`, type));
      message =
        `"${pattern}" is not a known event type` +
        (related.length > 0 ? ` (known ${family}.* types: ${related.join(', ')})` : ' (see GET /v1/organizations/webhooks/event-types)');
    }
    ctx.addIssue({ code: 'custom', message });
  });

  const eventTypes = z
    .array(eventTypePattern, expected('event_types', 'a list of event types'))
    .min(1, 'event_types must contain at least one event type')
    .max(WEBHOOK_LIMITS.eventTypes, `event_types may hold at most ${WEBHOOK_LIMITS.eventTypes} entries`)
    // Order kept, duplicates dropped.
    .transform((patterns) => [...new Set(patterns)]);

  const channels = z
    .array(channel, expected('channels', 'a list of channels'))
    .min(1, 'channels must contain at least one channel')
    .max(WEBHOOK_LIMITS.channels, `a webhook may have at most ${WEBHOOK_LIMITS.channels} channels`);

  const webhookName = requiredString('webhook_name')
    .trim()
    .min(1, 'webhook_name must not be empty')
    .max(WEBHOOK_LIMITS.nameLength, `webhook_name is longer than ${WEBHOOK_LIMITS.nameLength} characters`);

  const isActive = z.boolean(expected('is_active', 'true or false'));

  const create = z
    .object({
      webhook_name: webhookName,
      event_types: eventTypes,
      channels,
      is_active: isActive.default(true),
      retry_policy: optionalNullable(retryPolicySchema),
    })
    .transform(compact);

  /** PUT replaces the whole definition: the same rules as create. */
  const update = create;

  const patchFields = ['webhook_name', 'event_types', 'channels', 'is_active', 'retry_policy'] as const;

  /**
   * PATCH changes only the fields given. `retry_policy: null` removes the webhook's own
   * policy (back to the defaults), so null is kept there rather than read as "not set".
   */
  const patch = z
    .object({
      webhook_name: webhookName.optional(),
      event_types: eventTypes.optional(),
      channels: channels.optional(),
      is_active: isActive.optional(),
      retry_policy: retryPolicySchema.nullable().optional(),
    })
    .superRefine((value, ctx) => {
      if (patchFields.every((field) => value[field] === undefined)) {
        ctx.addIssue({ code: 'custom', message: `give at least one of ${patchFields.join(', ')} to change` });
      }
    });

  return {
    webhookConfig,
    slackConfig,
    emailConfig,
    smsConfig,
    channel,
    channels,
    eventTypes,
    headers,
    create,
    update,
    patch,
  };
}

export type WebhookSchemas = ReturnType<typeof webhookSchemas>;
export type WebhookChannelConfigInput = z.output<WebhookSchemas['channel']>;
export type WebhookConfig = z.output<WebhookSchemas['webhookConfig']>;
export type SlackConfig = z.output<WebhookSchemas['slackConfig']>;
export type EmailConfig = z.output<WebhookSchemas['emailConfig']>;
export type SmsConfig = z.output<WebhookSchemas['smsConfig']>;
export type WebhookCreateInput = z.output<WebhookSchemas['create']>;
export type WebhookUpdateInput = z.output<WebhookSchemas['update']>;
export type WebhookPatchInput = z.output<WebhookSchemas['patch']>;
