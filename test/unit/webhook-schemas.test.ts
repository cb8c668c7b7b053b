import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { webhookSchemas, type TemplateField } from '../../src/domain/webhook-schemas';
import { parseCidrList } from '../../src/security/ssrf';

const strict = webhookSchemas();

const SEED_CREATE = {
  webhook_name: 'prod-notifications',
  event_types: ['collection.documents.written', 'cluster.completed'],
  channels: [
    {
      channel: 'webhook',
      configs: {
        url: 'https://hooks.example.com/mixpeek',
        headers: { 'X-Mixpeek-Secret': 'super-secret' },
        timeout: 10,
      },
    },
  ],
};

function webhookChannel(configs: Record<string, unknown>) {
  return { ...SEED_CREATE, channels: [{ channel: 'webhook', configs: { url: 'https://hooks.example.com/x', ...configs } }] };
}

function issues(schema: z.ZodType, input: unknown): { path: string; message: string }[] {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

function messages(schema: z.ZodType, input: unknown): string {
  return issues(schema, input)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('\n');
}

describe('create', () => {
  it("accepts the seed page's example and fills defaults", () => {
    expect(strict.create.parse(SEED_CREATE)).toEqual({
      webhook_name: 'prod-notifications',
      event_types: ['collection.documents.written', 'cluster.completed'],
      channels: [
        {
          channel: 'webhook',
          configs: { url: 'https://hooks.example.com/mixpeek', headers: { 'X-Mixpeek-Secret': 'super-secret' }, timeout: 10 },
        },
      ],
      is_active: true,
    });
  });

  it('drops fields it does not manage, so a GET body can be sent back', () => {
    const parsed = strict.create.parse({ ...SEED_CREATE, webhook_id: 'wh_0123456789abcdef', created_at: '2025-01-01T00:00:00Z', description: 'x' });
    expect(parsed).not.toHaveProperty('webhook_id');
    expect(parsed).not.toHaveProperty('created_at');
    expect(parsed).not.toHaveProperty('description');
  });

  it('requires name, event types and channels, saying so', () => {
    expect(issues(strict.create, {})).toEqual(
      expect.arrayContaining([
        { path: 'webhook_name', message: 'webhook_name is required' },
        { path: 'event_types', message: 'event_types is required' },
        { path: 'channels', message: 'channels is required' },
      ]),
    );
  });

  it('checks the name', () => {
    expect(messages(strict.create, { ...SEED_CREATE, webhook_name: '   ' })).toContain('webhook_name must not be empty');
    expect(messages(strict.create, { ...SEED_CREATE, webhook_name: 'x'.repeat(201) })).toContain('longer than 200');
    expect(strict.create.parse({ ...SEED_CREATE, webhook_name: '  padded  ' }).webhook_name).toBe('padded');
  });

  it('accepts patterns and drops duplicate event types', () => {
    const parsed = strict.create.parse({ ...SEED_CREATE, event_types: ['object.*', '*', 'object.*', 'objects.*', 'webhook.test'] });
    expect(parsed.event_types).toEqual(['object.*', '*', 'objects.*', 'webhook.test']);
  });

  it.each([
    [[], 'event_types must contain at least one event type'],
    [['object.exploded'], '"object.exploded" is not a known event type (known object.* types: object.created, object.updated, object.deleted)'],
    [['made.up'], '"made.up" is not a known event type (see GET'],
    [['taxonomy.created.*'], '"taxonomy.created.*" matches no known event type'],
    [['*.created'], '"*.created" is not an event type or pattern'],
    [[42], 'event types must be strings'],
    ['object.created', 'event_types must be a list of event types'],
  ])('rejects event_types %j', (eventTypes, message) => {
    expect(messages(strict.create, { ...SEED_CREATE, event_types: eventTypes })).toContain(message);
  });

  it('limits channels to 1..10', () => {
    expect(messages(strict.create, { ...SEED_CREATE, channels: [] })).toContain('channels must contain at least one channel');
    const eleven = Array.from({ length: 11 }, () => SEED_CREATE.channels[0]);
    expect(messages(strict.create, { ...SEED_CREATE, channels: eleven })).toContain('at most 10 channels');
    expect(strict.create.safeParse({ ...SEED_CREATE, channels: eleven.slice(1) }).success).toBe(true);
  });

  it('names the allowed channel kinds for an unknown one', () => {
    expect(messages(strict.create, { ...SEED_CREATE, channels: [{ channel: 'pager', configs: {} }] })).toContain(
      'channel must be one of "webhook", "slack", "email", "sms"',
    );
  });

  it('requires configs matching the channel', () => {
    expect(messages(strict.create, { ...SEED_CREATE, channels: [{ channel: 'slack' }] })).toContain('configs is required');
    expect(messages(strict.create, { ...SEED_CREATE, channels: [{ channel: 'slack', configs: 'x' }] })).toContain(
      "configs must be an object with the slack channel's settings",
    );
    expect(messages(strict.create, { ...SEED_CREATE, channels: [{ channel: 'slack', configs: { url: 'https://a.example' } }] })).toContain(
      'webhook_url is required',
    );
  });

  it('validates and keeps a retry policy; null means none', () => {
    expect(strict.create.parse({ ...SEED_CREATE, retry_policy: { initial_interval: '10s' } }).retry_policy).toEqual({ initial_interval: '10s' });
    expect(strict.create.parse({ ...SEED_CREATE, retry_policy: null })).not.toHaveProperty('retry_policy');
    expect(messages(strict.create, { ...SEED_CREATE, retry_policy: { expiration: '90d' } })).toContain('expiration must be between 1m and 30d');
  });

  it('takes is_active as given, and only booleans', () => {
    expect(strict.create.parse({ ...SEED_CREATE, is_active: false }).is_active).toBe(false);
    expect(messages(strict.create, { ...SEED_CREATE, is_active: 'yes' })).toContain('is_active must be true or false');
  });

  it('update (PUT) follows the create rules', () => {
    expect(strict.update.parse(SEED_CREATE)).toEqual(strict.create.parse(SEED_CREATE));
    expect(strict.update.safeParse({ webhook_name: 'x' }).success).toBe(false);
  });

  it('can be turned into JSON Schema for the API docs', () => {
    expect(() => z.toJSONSchema(strict.create, { io: 'input', unrepresentable: 'any' })).not.toThrow();
    expect(() => z.toJSONSchema(strict.patch, { io: 'input', unrepresentable: 'any' })).not.toThrow();
  });
});

describe('destination URLs', () => {
  it('accept https hostnames', () => {
    expect(issues(strict.create, webhookChannel({ url: 'https://hooks.example.com:8443/path?q=1' }))).toEqual([]);
  });

  it('refuse plain http unless allowed', () => {
    expect(messages(strict.create, webhookChannel({ url: 'http://hooks.example.com/x' }))).toContain(
      'url must use https:// (plain http:// is accepted only when HOOKRELAY_ALLOW_HTTP is set)',
    );
    expect(issues(webhookSchemas({ allowHttp: true }).create, webhookChannel({ url: 'http://hooks.example.com/x' }))).toEqual([]);
  });

  it('refuse other schemes even when http is allowed', () => {
    const lax = webhookSchemas({ allowHttp: true });
    for (const url of ['ftp://hooks.example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://x.example/']) {
      expect(messages(lax.create, webhookChannel({ url }))).toMatch(/url must use https:\/\/ or http:\/\//);
    }
  });

  it('refuse relative and junk URLs', () => {
    expect(messages(strict.create, webhookChannel({ url: '/hooks' }))).toContain('url must be an absolute URL');
    expect(messages(strict.create, webhookChannel({ url: '' }))).toContain('url must not be empty');
    expect(messages(strict.create, webhookChannel({ url: 42 }))).toContain('url must be a string');
  });

  it('refuse credentials in the URL', () => {
    for (const url of ['https://user:pass@hooks.example.com/', 'https://a@hooks.example.com/', 'https://:p@hooks.example.com/']) {
      expect(messages(strict.create, webhookChannel({ url }))).toContain('url must not contain credentials');
    }
  });

  it.each([
    'https://127.0.0.1/',
    'https://127.1/',
    'https://2130706433/',
    'https://0x7f000001/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://10.0.0.1/',
    'https://169.254.169.254/latest/meta-data/',
    'https://localhost/',
  ])('refuse the literal blocked address %s', (url) => {
    expect(messages(strict.create, webhookChannel({ url }))).toMatch(/url points to a blocked address: .* (is|names) .*(loopback|private|link-local)/);
  });

  it('let allow-listed literal addresses through', () => {
    const testing = webhookSchemas({ allowHttp: true, allowedCidrs: parseCidrList('127.0.0.0/8') });
    expect(issues(testing.create, webhookChannel({ url: 'http://127.0.0.1:4000/hook' }))).toEqual([]);
    expect(messages(testing.create, webhookChannel({ url: 'http://10.0.0.1:4000/hook' }))).toContain('private');
  });

  it('check the Slack webhook_url the same way', () => {
    const slack = (webhook_url: string) => ({ ...SEED_CREATE, channels: [{ channel: 'slack', configs: { webhook_url } }] });
    expect(issues(strict.create, slack('https://hooks.slack.com/services/T/B/X'))).toEqual([]);
    expect(messages(strict.create, slack('http://hooks.slack.com/services/T/B/X'))).toContain('webhook_url must use https://');
    expect(messages(strict.create, slack('https://192.168.0.10/'))).toContain('webhook_url points to a blocked address');
  });
});

describe('webhook channel configs', () => {
  it('bound the timeout to 1..30 seconds, default 10', () => {
    expect(strict.webhookConfig.parse({ url: 'https://a.example' }).timeout).toBe(10);
    expect(strict.webhookConfig.parse({ url: 'https://a.example', timeout: 2.5 }).timeout).toBe(2.5);
    expect(messages(strict.webhookConfig, { url: 'https://a.example', timeout: 0.5 })).toContain('timeout must be at least 1 second');
    expect(messages(strict.webhookConfig, { url: 'https://a.example', timeout: 31 })).toContain('timeout must be at most 30 seconds');
    expect(messages(strict.webhookConfig, { url: 'https://a.example', timeout: '10' })).toContain('timeout must be a number of seconds');
  });

  it('accept method POST in any case and nothing else', () => {
    expect(strict.webhookConfig.parse({ url: 'https://a.example', method: 'post' }).method).toBe('POST');
    expect(messages(strict.webhookConfig, { url: 'https://a.example', method: 'PUT' })).toContain('method must be POST');
  });

  it('read null optional fields as not set', () => {
    const parsed = strict.webhookConfig.parse({ url: 'https://a.example', headers: null, payload_template: null, method: null });
    // Absent, not present-and-undefined: the MongoDB driver would store undefined as null.
    expect(Object.keys(parsed).sort()).toEqual(['timeout', 'url']);
  });

  it('take payload_template as a JSON object only', () => {
    expect(strict.webhookConfig.parse({ url: 'https://a.example', payload_template: { text: '{{ event_type }}' } }).payload_template).toEqual({
      text: '{{ event_type }}',
    });
    expect(messages(strict.webhookConfig, { url: 'https://a.example', payload_template: '{{ x }}' })).toContain(
      'payload_template must be a JSON object',
    );
  });
});

describe('headers', () => {
  const headerIssues = (headers: unknown) => messages(strict.headers, headers);

  it('accept custom headers, including tabs and non-ASCII text in values', () => {
    expect(headerIssues({ 'X-Mixpeek-Secret': 'super-secret', Authorization: 'Bearer a\tb', 'X-Name': 'Zoë', "x!#$%&'*+-.^_`|~": 'ok' })).toBe('');
  });

  it.each(['X Bad', 'X-Bad:', '', 'X-Ünicode', 'X(Bad)', 'X/Bad'])('refuse the header name %j', (name) => {
    expect(headerIssues({ [name]: 'v' })).toContain('is not a valid header name');
  });

  it.each([
    'content-type',
    'Content-Type',
    'USER-AGENT',
    'webhook-id',
    'Webhook-Timestamp',
    'webhook-signature',
    'Host',
    'Content-Length',
    'Transfer-Encoding',
    'Connection',
  ])('refuse the reserved header %s', (name) => {
    expect(headerIssues({ [name]: 'v' })).toContain('is set by hookrelay and cannot be overridden');
  });

  it.each([
    ['CRLF', 'a\r\nInjected: yes'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['ESC', 'a\u001bb'],
  ])('refuse a value with %s', (_name, value) => {
    expect(headerIssues({ 'X-Test': value })).toContain('contains a control character');
  });

  it('refuse names that differ only in case', () => {
    expect(headerIssues({ 'X-Token': 'a', 'x-token': 'b' })).toContain('header "x-token" duplicates "X-Token"');
  });

  it('refuse non-string values and too many headers', () => {
    expect(headerIssues({ 'X-Number': 5 })).toContain('header values must be strings');
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, 'v']));
    expect(headerIssues(many)).toContain('at most 50 headers');
  });

  it('report the offending header in the path', () => {
    expect(issues(strict.create, webhookChannel({ headers: { 'Content-Type': 'text/plain' } }))[0]?.path).toBe('channels.0.configs.headers.Content-Type');
  });
});

describe('slack, email and sms configs', () => {
  it('accept a full Slack config with nulls for unset fields', () => {
    const parsed = strict.slackConfig.parse({
      webhook_url: 'https://hooks.slack.com/services/T/B/X',
      channel: '#alerts',
      username: 'hookrelay',
      icon_emoji: ':bell:',
      icon_url: null,
      blocks_template: '[{"type":"section","text":{"type":"mrkdwn","text":"{{ event_type }}"}}]',
    });
    expect(parsed.channel).toBe('#alerts');
    expect(parsed).not.toHaveProperty('icon_url');
    expect(messages(strict.slackConfig, { webhook_url: 'https://hooks.slack.com/x', icon_url: 'ftp://x.example/i.png' })).toContain(
      'icon_url must be an http(s) URL',
    );
  });

  it('accept an email config, defaulting content_type to html', () => {
    const parsed = strict.emailConfig.parse({ to_addresses: ['ops@example.com'], subject_template: 'Event {{ event_type }}' });
    expect(parsed.content_type).toBe('html');
    expect(strict.emailConfig.parse({ to_addresses: ['a@example.com'], content_type: 'markdown' }).content_type).toBe('markdown');
  });

  it('check email recipients and content type', () => {
    expect(messages(strict.emailConfig, { to_addresses: [] })).toContain('to_addresses must name at least one recipient');
    expect(messages(strict.emailConfig, {})).toContain('to_addresses is required');
    expect(messages(strict.emailConfig, { to_addresses: ['not-an-address'] })).toContain('to_addresses contains "not-an-address", which is not an email address');
    expect(messages(strict.emailConfig, { to_addresses: ['a@example.com\r\nBcc: x@evil.example'] })).toContain('which is not an email address');
    expect(messages(strict.emailConfig, { to_addresses: ['a@example.com'], cc_addresses: ['nope'] })).toContain('cc_addresses contains "nope"');
    expect(messages(strict.emailConfig, { to_addresses: ['a@example.com'], bcc_addresses: ['nope'] })).toContain('bcc_addresses contains "nope"');
    expect(messages(strict.emailConfig, { to_addresses: ['a@example.com'], content_type: 'pdf' })).toContain(
      'content_type must be one of plain_text, html, markdown, json',
    );
  });

  it.each(['+14155550123', '+442071838750', '+12345678', '+123456789012345'])('accept the E.164 number %s', (number) => {
    expect(strict.smsConfig.safeParse({ phone_numbers: [number] }).success).toBe(true);
  });

  it.each(['14155550123', '+1 415 555 0123', '+1-415-555-0123', '+0123456789', '+1234567', '+1234567890123456', '+1415555012a', ''])(
    'refuse the phone number %j',
    (number) => {
      expect(messages(strict.smsConfig, { phone_numbers: [number] })).toContain('phone numbers must be in E.164 form');
    },
  );

  it('need at least one phone number', () => {
    expect(messages(strict.smsConfig, { phone_numbers: [] })).toContain('phone_numbers must hold at least one number');
  });
});

describe('template validation hook', () => {
  const calls: [TemplateField, string][] = [];
  const schemas = webhookSchemas({
    validateTemplate: (field, source) => {
      calls.push([field, source]);
      return source.includes('{{') && !source.includes('}}') ? 'unclosed output tag' : undefined;
    },
  });

  it('is called for every template field with its source', () => {
    calls.length = 0;
    schemas.slackConfig.parse({ webhook_url: 'https://hooks.slack.com/x', blocks_template: 'B' });
    schemas.emailConfig.parse({ to_addresses: ['a@example.com'], subject_template: 'S', body_template: 'Body' });
    schemas.smsConfig.parse({ phone_numbers: ['+14155550123'], message_template: 'M' });
    schemas.webhookConfig.parse({ url: 'https://a.example', payload_template: { a: 'P1', nested: { list: ['P2', 3, null] } } });
    expect(calls).toEqual([
      ['blocks_template', 'B'],
      ['subject_template', 'S'],
      ['body_template', 'Body'],
      ['message_template', 'M'],
      ['payload_template', 'P1'],
      ['payload_template', 'P2'],
    ]);
  });

  it('turns its message into an issue at the template', () => {
    expect(issues(schemas.emailConfig, { to_addresses: ['a@example.com'], body_template: 'Hi {{ name' })).toEqual([
      { path: 'body_template', message: 'body_template is not a valid template: unclosed output tag' },
    ]);
    expect(issues(schemas.webhookConfig, { url: 'https://a.example', payload_template: { outer: { text: '{{ bad' } } })).toEqual([
      { path: 'payload_template.outer.text', message: 'payload_template value is not a valid template: unclosed output tag' },
    ]);
  });

  it('is optional', () => {
    expect(strict.emailConfig.safeParse({ to_addresses: ['a@example.com'], body_template: 'Hi {{ name' }).success).toBe(true);
  });
});

describe('patch', () => {
  it('accepts any single field', () => {
    expect(strict.patch.parse({ is_active: false })).toEqual({ is_active: false });
    expect(strict.patch.parse({ event_types: ['*'] })).toEqual({ event_types: ['*'] });
    expect(strict.patch.parse({ webhook_name: ' renamed ' })).toEqual({ webhook_name: 'renamed' });
  });

  it('keeps retry_policy: null, which resets the policy', () => {
    expect(strict.patch.parse({ retry_policy: null })).toEqual({ retry_policy: null });
  });

  it('needs at least one known field', () => {
    expect(messages(strict.patch, {})).toContain('give at least one of webhook_name, event_types, channels, is_active, retry_policy');
    expect(messages(strict.patch, { webhook_id: 'wh_0123456789abcdef' })).toContain('give at least one of');
  });

  it('applies the same field rules as create', () => {
    expect(messages(strict.patch, { channels: [] })).toContain('channels must contain at least one channel');
    expect(messages(strict.patch, { event_types: ['nope.*'] })).toContain('"nope.*" matches no known event type');
    expect(messages(strict.patch, { webhook_name: null })).toContain('webhook_name must be a string');
    expect(messages(strict.patch, { channels: [{ channel: 'webhook', configs: { url: 'http://a.example' } }] })).toContain('url must use https://');
  });
});
