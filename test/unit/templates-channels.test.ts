import { describe, expect, it } from 'vitest';
import type { ChannelAttempt } from '../../src/delivery/channel-sender';
import { createEmailChannel, markdownToSafeHtml, renderEmail } from '../../src/delivery/email-channel';
import { renderSlackMessage } from '../../src/delivery/slack-channel';
import { SMS_MAX_LENGTH, truncateSms } from '../../src/delivery/sms-channel';
import { createTemplateEngine, templateContext } from '../../src/templates/engine';

const engine = createTemplateEngine();
const EVENT = {
  _id: 'evt_unit1',
  event_type: 'collection.documents.written',
  occurred_at: new Date('2026-03-01T12:00:00.000Z'),
  namespace_id: 'ns_main',
  subject: { type: 'collection', id: 'col_products' },
  metadata: { collection_id: 'col_products', document_count: 3, note: '<script>alert(1)</script>' },
  cache_scope: { scope: 'collection' as const, collection_id: 'col_products' },
};
const context = templateContext(EVENT);

describe('Slack message rendering', () => {
  it('defaults to a text message and passes channel, username and icons through', () => {
    const message = renderSlackMessage(
      engine,
      { webhook_url: 'x', channel: '#alerts', username: 'hookrelay', icon_emoji: ':bell:', icon_url: 'https://x.example/i.png' },
      context,
    );
    expect(message.text).toContain('*collection.documents.written*');
    expect(message.text).toContain('`col_products`');
    expect(message).toMatchObject({ channel: '#alerts', username: 'hookrelay', icon_emoji: ':bell:', icon_url: 'https://x.example/i.png' });
    expect(message).not.toHaveProperty('blocks');
  });

  it('treats a JSON-source blocks_template as a JSON template: event values cannot break the structure', () => {
    const ctx = templateContext({ ...EVENT, metadata: { title: 'quote " and <!here>' } });
    const message = renderSlackMessage(
      engine,
      { blocks_template: '[{"type":"section","text":{"type":"mrkdwn","text":"*{{ event_type }}*: {{ metadata.title }}"}}]' },
      ctx,
    );
    expect(message.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*collection.documents.written*: quote " and &lt;!here&gt;' } },
    ]);
    expect(message.text).toContain('collection.documents.written');
  });

  it('accepts blocks_template as an array or an object with blocks and text', () => {
    expect(renderSlackMessage(engine, { blocks_template: [{ type: 'header', text: { type: 'plain_text', text: '{{ subject.id }}' } }] }, context).blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'col_products' } },
    ]);
    const message = renderSlackMessage(engine, { blocks_template: { text: 'fallback {{ event_id }}', blocks: [{ type: 'divider' }] } }, context);
    expect(message).toMatchObject({ text: 'fallback evt_unit1', blocks: [{ type: 'divider' }] });
  });

  it('uses a string template that renders JSON as blocks, and any other output as the text', () => {
    const looped = renderSlackMessage(
      engine,
      { blocks_template: '{% if event_type %}[{"type":"section","text":{"type":"mrkdwn","text":"{{ subject.id }}"}}]{% endif %}' },
      context,
    );
    expect(looped.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'col_products' } }]);
    const text = renderSlackMessage(engine, { blocks_template: 'New documents in {{ subject.id }}: {{ metadata.note }}' }, context);
    expect(text).toEqual({ text: 'New documents in col_products: &lt;script&gt;alert(1)&lt;/script&gt;' });
  });

  it('fails to render a result that is neither blocks nor text', () => {
    expect(() => renderSlackMessage(engine, { blocks_template: { nothing: 'here' } }, context)).toThrow(/must be a list of blocks/);
  });
});

describe('email rendering', () => {
  it('defaults subject and an html body with escaped event values', async () => {
    const email = await renderEmail(engine, {}, context);
    expect(email.subject).toBe('[hookrelay] collection.documents.written: collection col_products');
    expect(email.html).toContain('<h2 style="margin: 0 0 12px;">collection.documents.written</h2>');
    expect(email.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(email.html).not.toContain('<script>');
    expect(email.text).toBeUndefined();
  });

  it('keeps the subject on one line', async () => {
    const email = await renderEmail(engine, { subject_template: 'a\r\nBcc: evil@example.com\n{{ event_id }}' }, context);
    expect(email.subject).toBe('a Bcc: evil@example.com evt_unit1');
  });

  it('renders plain_text and json bodies as text', async () => {
    expect(await renderEmail(engine, { content_type: 'plain_text', body_template: 'Docs: {{ metadata.document_count }} {{ metadata.note }}' }, context)).toEqual({
      subject: expect.any(String),
      text: 'Docs: 3 <script>alert(1)</script>',
    });
    const json = await renderEmail(engine, { content_type: 'json' }, context);
    expect(JSON.parse(json.text!)).toMatchObject({ event_id: 'evt_unit1', metadata: { document_count: 3 } });
    expect(json.html).toBeUndefined();
  });

  it('renders markdown to HTML with raw HTML shown as text and unsafe links dropped', async () => {
    const ctx = templateContext({
      ...EVENT,
      metadata: { note: '<img src=x onerror=alert(1)> [click](javascript:alert(1)) [docs](https://docs.example/a?b=1&c=2)' },
    });
    const email = await renderEmail(engine, { content_type: 'markdown', body_template: '# {{ subject.id }}\n\n**Note:** {{ metadata.note }}' }, ctx);
    expect(email.text).toContain('# col_products');
    expect(email.html).toContain('<h1>col_products</h1>');
    expect(email.html).toContain('<strong>Note:</strong>');
    expect(email.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(email.html).not.toMatch(/<img/);
    expect(email.html).not.toContain('javascript:');
    expect(email.html).toContain('<a href="https://docs.example/a?b=1&amp;c=2">docs</a>');
  });

  it('escapes block-level raw HTML too', async () => {
    expect(await markdownToSafeHtml('<div onclick="x()">hi</div>\n\ntext')).not.toContain('<div');
  });
});

describe('SMS truncation', () => {
  it('leaves short messages alone and cuts long ones to the limit with an ellipsis', () => {
    expect(truncateSms('hello')).toBe('hello');
    const long = truncateSms('x'.repeat(5000));
    expect(long).toHaveLength(SMS_MAX_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    // An emoji (two UTF-16 units) straddling the cut.
    const text = `${'a'.repeat(SMS_MAX_LENGTH - 2)}😀${'b'.repeat(10)}`;
    const cut = truncateSms(text);
    expect(cut.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    expect(cut).toBe(`${'a'.repeat(SMS_MAX_LENGTH - 2)}…`);
    expect(() => encodeURIComponent(cut)).not.toThrow(); // a lone surrogate would throw
    const kept = truncateSms(`${'a'.repeat(SMS_MAX_LENGTH - 3)}😀${'b'.repeat(10)}`);
    expect(kept).toBe(`${'a'.repeat(SMS_MAX_LENGTH - 3)}😀…`);
  });
});

describe('email channel without SMTP_URL', () => {
  it('fails permanently as InvalidConfiguration, saying what is missing', async () => {
    const channel = createEmailChannel({ smtpUrl: undefined, from: 'hookrelay@localhost', engine });
    const attempt = {
      event: { ...EVENT, organization_id: 'org_x', status: 'dispatched', created_at: new Date() },
      webhook: { _id: 'wh_0000000000000001', webhook_name: 'x' },
      channel: { channel: 'email', configs: { to_addresses: ['ops@example.com'] } },
      deliveryId: 'msg_x',
      channelIndex: 0,
      runId: null,
      attempt: 1,
      attemptTimeoutMs: 1_000,
      now: new Date(),
    } as unknown as ChannelAttempt;
    expect(await channel.send(attempt)).toEqual({
      kind: 'permanent',
      failureType: 'InvalidConfiguration',
      error: 'smtp_not_configured',
      errorMessage: 'email channel cannot send: SMTP_URL is not set on the worker',
      durationMs: 0,
    });
    await channel.close();
  });
});
