import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { webhookSchemas } from '../../src/domain/webhook-schemas';
import {
  createTemplateEngine,
  renderJsonTemplate,
  templateContext,
  TemplateRenderError,
  validateTemplate,
} from '../../src/templates/engine';

const EVENT = {
  _id: 'evt_abc123',
  event_type: 'collection.documents.written',
  occurred_at: new Date('2026-03-01T12:00:00.000Z'),
  namespace_id: 'ns_main',
  subject: { type: 'collection', id: 'col_products' },
  metadata: { collection_id: 'col_products', document_count: 3, tags: ['a', 'b'], note: '<b>bold</b> & "quoted"' },
  cache_scope: { scope: 'collection' as const, collection_id: 'col_products' },
};
const context = templateContext(EVENT, { _id: 'wh_0123456789abcdef', webhook_name: 'prod' });
const engine = createTemplateEngine();

describe('template context', () => {
  it('is the delivery envelope, also reachable as `event`, plus the webhook', () => {
    expect(engine.renderText('t', '{{ event_id }} {{ event.event_type }} {{ subject.id }} {{ metadata.document_count }}', context)).toBe(
      'evt_abc123 collection.documents.written col_products 3',
    );
    expect(engine.renderText('t', '{{ occurred_at }} {{ cache_scope.scope }} {{ webhook.webhook_name }}', context)).toBe(
      '2026-03-01T12:00:00.000Z collection prod',
    );
    expect(engine.renderText('t', '{{ metadata.tags | join: "+" }} {{ metadata | json }}', context)).toBe(
      'a+b {"collection_id":"col_products","document_count":3,"tags":["a","b"],"note":"<b>bold</b> & \\"quoted\\""}',
    );
  });

  it('renders a missing value as empty text', () => {
    expect(engine.renderText('t', '[{{ metadata.nope }}][{{ nothing.at.all }}]', context)).toBe('[][]');
  });
});

describe('hardening for untrusted templates', () => {
  it.each(['{% include "secrets.txt" %}', '{% render "x" %}', '{% layout "base" %}{% block a %}{% endblock %}'])(
    'refuses %s at parse time (no file system)',
    (source) => {
      expect(engine.check(source)).toMatch(/is not available: templates cannot load other templates/);
    },
  );

  it('refuses unknown filters and broken syntax with line and column', () => {
    expect(engine.check('{{ x | shell: "rm -rf" }}')).toMatch(/undefined filter: shell/);
    expect(engine.check('Hello {{ name')).toMatch(/not closed, line:1, col:7/);
    expect(engine.check('{% if %}x{% endif %}')).toBeDefined();
    expect(engine.check('{% for x in y %}')).toMatch(/not closed/);
    expect(engine.check('{{ event_type | upcase }}')).toBeUndefined();
  });

  it('does not reach prototypes or constructors', () => {
    const out = engine.renderText(
      't',
      '[{{ constructor }}][{{ event_id.constructor }}][{{ metadata.__proto__ }}][{{ metadata.hasOwnProperty }}][{{ subject.toString }}]',
      context,
    );
    expect(out).toBe('[][][][][]');
  });

  it('limits template size (parseLimit)', () => {
    const small = createTemplateEngine({ parseLimit: 100 });
    expect(small.check('x'.repeat(101))).toMatch(/parse length limit exceeded/);
  });

  it('stops a render that allocates too much (memoryLimit)', () => {
    expect(() => engine.renderText('body_template', '{% for i in (1..100000000) %}{{ i }}{% endfor %}', context)).toThrow(
      /body_template failed to render: .*memory alloc limit exceeded/,
    );
  });

  it('stops a render that runs too long (renderLimit is the render timeout)', () => {
    const quick = createTemplateEngine({ renderLimitMs: 50 });
    const started = Date.now();
    expect(() =>
      quick.renderText('message_template', '{% for i in (1..3000) %}{% for j in (1..3000) %}{{ j }}{% endfor %}{% endfor %}', context),
    ).toThrow(TemplateRenderError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('caps the rendered size', () => {
    const tight = createTemplateEngine({ maxOutputChars: 10 });
    expect(() => tight.renderText('subject_template', '{{ event_type }}', context)).toThrow(/output is longer than 10 characters/);
  });

  it('renders dates in UTC', () => {
    expect(engine.renderText('t', '{{ occurred_at | date: "%Y-%m-%d %H:%M" }}', context)).toBe('2026-03-01 12:00');
  });
});

describe('escaping', () => {
  it('HTML-escapes every value in html mode, `| raw` opts out, the template itself is kept', () => {
    expect(engine.renderText('body_template', '<p>{{ metadata.note }}</p>', context, 'html')).toBe(
      '<p>&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;</p>',
    );
    expect(engine.renderText('body_template', '{{ metadata.note | raw }}', context, 'html')).toBe('<b>bold</b> & "quoted"');
  });

  it("escapes Slack's control characters only in slack mode", () => {
    const ctx = templateContext({ ...EVENT, metadata: { who: '<!channel> & <https://evil.example|click>' } });
    expect(engine.renderText('text', '{{ metadata.who }} "ok"', ctx, 'slack')).toBe(
      '&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; "ok"',
    );
  });

  it('leaves plain text alone', () => {
    expect(engine.renderText('message_template', '{{ metadata.note }}', context)).toBe('<b>bold</b> & "quoted"');
  });
});

describe('JSON templates (payload_template)', () => {
  it('renders every string value at any depth and keeps keys and non-strings', () => {
    const rendered = renderJsonTemplate(
      {
        kind: 'hookrelay.{{ event_type }}',
        id: '{{ event_id }}',
        nested: { list: ['{{ subject.type }}:{{ subject.id }}', 42, true, null, { deep: 'ns={{ namespace_id }}' }] },
        '{{ not_a_template_key }}': 'literal',
      },
      context,
    );
    expect(rendered).toEqual({
      kind: 'hookrelay.collection.documents.written',
      id: 'evt_abc123',
      nested: { list: ['collection:col_products', 42, true, null, { deep: 'ns=ns_main' }] },
      '{{ not_a_template_key }}': 'literal',
    });
  });

  it('keeps the type of a value that is exactly one expression', () => {
    expect(
      renderJsonTemplate(
        {
          count: '{{ metadata.document_count }}',
          next: '{{ metadata.document_count | plus: 1 }}',
          text: 'n={{ metadata.document_count }}',
          tags: '{{ metadata.tags }}',
          metadata: '{{ metadata }}',
          missing: '{{ metadata.nope }}',
          as_string: '{{ metadata.document_count | append: "" }}',
        },
        context,
      ),
    ).toEqual({
      count: 3,
      next: 4,
      text: 'n=3',
      tags: ['a', 'b'],
      metadata: EVENT.metadata,
      missing: null,
      as_string: '3',
    });
  });

  it('names the failing value when a render fails', () => {
    expect(() =>
      renderJsonTemplate({ outer: { items: ['ok', '{% for i in (1..100000000) %}{{ i }}{% endfor %}'] } }, context),
    ).toThrow(/payload_template\.outer\.items\[1\] failed to render: .*memory alloc limit exceeded/);
  });
});

describe('validateTemplate (the schema hook)', () => {
  it('accepts good templates and explains bad ones', () => {
    expect(validateTemplate('subject_template', 'Event {{ event_type }}')).toBeUndefined();
    expect(validateTemplate('message_template', '{{ event_type')).toMatch(/not closed/);
    expect(validateTemplate('body_template', '{% include "x" %}')).toMatch(/"include" tag is not available/);
  });

  it('checks a JSON-source blocks_template value by value, with its path', () => {
    expect(validateTemplate('blocks_template', '[{"type":"section","text":{"type":"mrkdwn","text":"{{ event_type }}"}}]')).toBeUndefined();
    expect(validateTemplate('blocks_template', '[{"type":"section","text":{"type":"mrkdwn","text":"{{ event_type | nope }}"}}]')).toMatch(
      /^\[0\]\.text\.text: undefined filter: nope/,
    );
    expect(validateTemplate('blocks_template', '{% if event_type %}[]{% endif %}')).toBeUndefined();
  });
});

describe('webhook schemas with the template check', () => {
  const schemas = webhookSchemas({ validateTemplate });

  function issues(schema: z.ZodType, input: unknown): { path: string; message: string }[] {
    const result = schema.safeParse(input);
    if (result.success) return [];
    return result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  }

  it('rejects a bad template in every template field, naming the field', () => {
    expect(issues(schemas.emailConfig, { to_addresses: ['ops@example.com'], subject_template: 'Hi {{ name' })).toEqual([
      { path: 'subject_template', message: expect.stringMatching(/^subject_template is not a valid template: .*not closed/) },
    ]);
    expect(issues(schemas.emailConfig, { to_addresses: ['ops@example.com'], body_template: '{% include "/etc/passwd" %}' })).toEqual([
      { path: 'body_template', message: expect.stringMatching(/^body_template is not a valid template: the "include" tag is not available/) },
    ]);
    expect(issues(schemas.smsConfig, { phone_numbers: ['+14155550123'], message_template: '{{ x | bogus }}' })).toEqual([
      { path: 'message_template', message: expect.stringMatching(/^message_template is not a valid template: undefined filter: bogus/) },
    ]);
    expect(issues(schemas.slackConfig, { webhook_url: 'https://hooks.slack.com/services/T/B/X', blocks_template: '{% for b in x %}' })).toEqual([
      { path: 'blocks_template', message: expect.stringMatching(/^blocks_template is not a valid template: .*not closed/) },
    ]);
    expect(
      issues(schemas.webhookConfig, { url: 'https://hooks.example.com/x', payload_template: { data: { title: '{{ event_type' } } }),
    ).toEqual([
      { path: 'payload_template.data.title', message: expect.stringMatching(/^payload_template value is not a valid template: .*not closed/) },
    ]);
  });

  it('accepts valid templates everywhere', () => {
    expect(
      schemas.channels.safeParse([
        { channel: 'webhook', configs: { url: 'https://hooks.example.com/x', payload_template: { t: '{{ event_type }}', n: [1, '{{ event_id }}'] } } },
        { channel: 'slack', configs: { webhook_url: 'https://hooks.slack.com/services/T/B/X', blocks_template: '[{"type":"divider"}]' } },
        { channel: 'email', configs: { to_addresses: ['ops@example.com'], subject_template: '{{ event_type }}', body_template: '# {{ subject.id }}', content_type: 'markdown' } },
        { channel: 'sms', configs: { phone_numbers: ['+14155550123'], message_template: '{{ event_type | truncate: 40 }}' } },
      ]).success,
    ).toBe(true);
  });

  it('rejects bad addresses and phone numbers with messages naming the field', () => {
    expect(issues(schemas.emailConfig, { to_addresses: ['ops@example.com', 'not an address'] })).toEqual([
      { path: 'to_addresses.1', message: 'to_addresses contains "not an address", which is not an email address' },
    ]);
    expect(issues(schemas.emailConfig, { to_addresses: ['ops@example.com'], bcc_addresses: ['x@y@z'] })[0]?.message).toMatch(/^bcc_addresses contains/);
    expect(issues(schemas.smsConfig, { phone_numbers: ['+14155550123', '555-0123'] })).toEqual([
      { path: 'phone_numbers.1', message: expect.stringMatching(/E\.164/) },
    ]);
  });
});
