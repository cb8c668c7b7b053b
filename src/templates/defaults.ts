import type { NotificationContentType } from '../domain/webhook-schemas';

/**
 * Templates used when a channel has none of its own. They render the same envelope
 * fields a custom template sees (see templateContext in ./engine).
 */

/** Slack `text` (also the notification fallback when blocks are sent). Rendered with Slack escaping. */
export const DEFAULT_SLACK_TEXT_TEMPLATE =
  '*{{ event_type }}* · {{ subject.type }} `{{ subject.id }}`' +
  '{% if namespace_id %} · namespace `{{ namespace_id }}`{% endif %}\n' +
  'event `{{ event_id }}` at {{ occurred_at }}';

export const DEFAULT_EMAIL_SUBJECT_TEMPLATE = '[hookrelay] {{ event_type }}: {{ subject.type }} {{ subject.id }}';

const PLAIN_TEXT_BODY = `Event {{ event_type }}

Event id:    {{ event_id }}
Occurred at: {{ occurred_at }}
Namespace:   {{ namespace_id | default: "-" }}
Subject:     {{ subject.type }} {{ subject.id }}
Cache scope: {{ cache_scope.scope }}{% if cache_scope.collection_id %} ({{ cache_scope.collection_id }}){% endif %}

Metadata:
{{ metadata | json: 2 }}
`;

// Rendered with HTML escaping of every value.
const HTML_BODY = `<!doctype html>
<html><body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; font-size: 14px;">
<h2 style="margin: 0 0 12px;">{{ event_type }}</h2>
<table cellpadding="4" cellspacing="0" style="border-collapse: collapse;">
<tr><th align="left">Event id</th><td><code>{{ event_id }}</code></td></tr>
<tr><th align="left">Occurred at</th><td>{{ occurred_at }}</td></tr>
<tr><th align="left">Namespace</th><td>{{ namespace_id | default: "-" }}</td></tr>
<tr><th align="left">Subject</th><td>{{ subject.type }} <code>{{ subject.id }}</code></td></tr>
<tr><th align="left">Cache scope</th><td>{{ cache_scope.scope }}{% if cache_scope.collection_id %} ({{ cache_scope.collection_id }}){% endif %}</td></tr>
</table>
<h3 style="margin: 16px 0 8px;">Metadata</h3>
<pre style="background: #f6f8fa; padding: 8px;">{{ metadata | json: 2 }}</pre>
</body></html>
`;

const MARKDOWN_BODY = `## {{ event_type }}

- **Event id:** \`{{ event_id }}\`
- **Occurred at:** {{ occurred_at }}
- **Namespace:** \`{{ namespace_id | default: "-" }}\`
- **Subject:** {{ subject.type }} \`{{ subject.id }}\`
- **Cache scope:** {{ cache_scope.scope }}{% if cache_scope.collection_id %} (\`{{ cache_scope.collection_id }}\`){% endif %}

**Metadata**

\`\`\`json
{{ metadata | json: 2 }}
\`\`\`
`;

/**
 * Default email body per content type; `json` has none: without a body_template the
 * body is the delivery payload itself, pretty-printed.
 */
export const DEFAULT_EMAIL_BODY_TEMPLATES: Record<Exclude<NotificationContentType, 'json'>, string> = {
  plain_text: PLAIN_TEXT_BODY,
  html: HTML_BODY,
  markdown: MARKDOWN_BODY,
};

export const DEFAULT_SMS_MESSAGE_TEMPLATE =
  'hookrelay: {{ event_type }} {{ subject.type }} {{ subject.id }}{% if namespace_id %} (namespace {{ namespace_id }}){% endif %}';
