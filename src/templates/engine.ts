import { Liquid, Tag, type Template } from 'liquidjs';
import type { TemplateField } from '../domain/webhook-schemas';
import { toDeliveryPayload, type DeliveryPayload } from '../domain/event-envelope';

/**
 * The one template engine for subscriber-supplied templates (docs/architecture.md, Delivery rules): LiquidJS,
 * configured for untrusted input. Templates can read the event envelope and nothing
 * else: no file system (include/render/layout are refused at parse time), own properties
 * only, unknown filters are parse errors, and every parse and render is bounded in size,
 * time and memory.
 *
 * Rendering is synchronous: LiquidJS checks its time budget between template nodes, so
 * `renderLimitMs` is the render timeout either way, and a sync render fits the webhook
 * sender's `renderBody` hook.
 */

export interface TemplateLimits {
  /** Longest template source parsed at once (characters). */
  parseLimit: number;
  /** Render timeout: wall-clock budget of one render (a JSON template shares one budget). */
  renderLimitMs: number;
  /** LiquidJS allocation budget (array/string creation inside filters and loops). */
  memoryLimit: number;
  /** Longest rendered output accepted (characters; a JSON template: its serialized form). */
  maxOutputChars: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  parseLimit: 100_000,
  renderLimitMs: 1_000,
  memoryLimit: 10_000_000,
  maxOutputChars: 1_000_000,
};

/** What templates see: the delivered envelope's fields at top level, also as `event`, plus the webhook. */
export interface TemplateContext extends DeliveryPayload {
  event: DeliveryPayload;
  webhook: { webhook_id: string; webhook_name: string };
}

type EnvelopeSource = Parameters<typeof toDeliveryPayload>[0];

export function templateContext(event: EnvelopeSource, webhook?: { _id: string; webhook_name: string }): TemplateContext {
  const payload = toDeliveryPayload(event);
  return {
    ...payload,
    event: payload,
    webhook: { webhook_id: webhook?._id ?? '', webhook_name: webhook?.webhook_name ?? '' },
  };
}

/**
 * Escaping applied to every `{{ }}` output (a template opts out per value with `| raw`):
 * none; HTML (`html` and `markdown` email bodies); Slack (`&`, `<`, `>`, the characters
 * Slack's mrkdwn gives meaning to, so event data cannot mention `<!channel>` or forge links).
 */
export type TextEscape = 'none' | 'html' | 'slack';
export type JsonEscape = 'none' | 'slack';

/** A template that parsed but could not be rendered for this event: a permanent delivery failure. */
export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
  constructor(
    readonly field: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${field} failed to render: ${detail}`, options);
  }
}

export interface TemplateEngine {
  /** Syntax check only; an error message naming the line and column, or undefined. */
  check(source: string): string | undefined;
  /** Renders a string template to text. */
  renderText(field: string, source: string, context: TemplateContext, escape?: TextEscape): string;
  /**
   * Renders a JSON template: every string value at any depth is a template, keys are kept.
   * A value that is exactly one `{{ expression }}` keeps the expression's type (number,
   * boolean, object, list; missing → null); anything else renders to a string.
   */
  renderJson(field: string, template: unknown, context: TemplateContext, escape?: JsonEscape): unknown;
}

const BLOCKED_TAGS = ['include', 'render', 'layout'] as const;
// Parsed templates are reused across events; long sources are parsed afresh to bound memory.
const PARSE_CACHE_SIZE = 256;
const PARSE_CACHE_MAX_SOURCE = 20_000;
const MAX_JSON_DEPTH = 64;

export function createTemplateEngine(overrides: Partial<TemplateLimits> = {}): TemplateEngine {
  const limits: TemplateLimits = { ...DEFAULT_TEMPLATE_LIMITS, ...overrides };
  const textEngines: Record<TextEscape, Liquid> = {
    none: hardenedLiquid(limits, {}),
    html: hardenedLiquid(limits, { outputEscape: 'escape' }),
    slack: hardenedLiquid(limits, { outputEscape: slackEscapeFilter }),
  };
  const jsonEngines: Record<JsonEscape, Liquid> = {
    none: hardenedLiquid(limits, { keepOutputType: true }),
    slack: hardenedLiquid(limits, { keepOutputType: true, outputEscape: slackEscapeFilter }),
  };
  const typed = jsonEngines.none;

  // Parsed templates belong to the instance that parsed them (its escaping is baked in).
  const caches = new Map<Liquid, Map<string, Template[]>>();
  function parse(liquid: Liquid, source: string): Template[] {
    let cache = caches.get(liquid);
    if (!cache) caches.set(liquid, (cache = new Map()));
    const hit = cache.get(source);
    if (hit) return hit;
    const parsed = liquid.parse(source);
    if (source.length > PARSE_CACHE_MAX_SOURCE) return parsed;
    if (cache.size >= PARSE_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(source, parsed);
    return parsed;
  }

  function render(liquid: Liquid, field: string, source: string, context: TemplateContext, budgetMs: number): unknown {
    if (budgetMs <= 0) throw new TemplateRenderError(field, `render time limit of ${limits.renderLimitMs} ms exceeded`);
    let templates: Template[];
    try {
      templates = parse(liquid, source);
    } catch (error) {
      // Checked at create/update time; a template stored before that check still fails cleanly.
      throw new TemplateRenderError(field, `invalid template: ${describe(error)}`, { cause: error });
    }
    try {
      return liquid.renderSync(templates, context, { renderLimit: budgetMs, memoryLimit: limits.memoryLimit });
    } catch (error) {
      throw new TemplateRenderError(field, describe(error), { cause: error });
    }
  }

  return {
    check(source) {
      if (typeof source !== 'string') return 'must be a string';
      try {
        typed.parse(source); // not cached: validation input is anyone's
        return undefined;
      } catch (error) {
        return describe(error);
      }
    },

    renderText(field, source, context, escape = 'none') {
      const output = render(textEngines[escape], field, source, context, limits.renderLimitMs);
      const result = output === undefined || output === null ? '' : String(output);
      if (result.length > limits.maxOutputChars) {
        throw new TemplateRenderError(field, `output is longer than ${limits.maxOutputChars} characters`);
      }
      return result;
    },

    renderJson(field, template, context, escape = 'none') {
      const liquid = jsonEngines[escape];
      const deadline = Date.now() + limits.renderLimitMs;
      const visit = (value: unknown, path: string, depth: number): unknown => {
        if (depth > MAX_JSON_DEPTH) throw new TemplateRenderError(field, `nested deeper than ${MAX_JSON_DEPTH} levels`);
        if (typeof value === 'string') {
          return toJsonValue(render(liquid, path, value, context, deadline - Date.now()));
        }
        if (Array.isArray(value)) return value.map((item, index) => visit(item, `${path}[${index}]`, depth + 1));
        if (value !== null && typeof value === 'object') {
          const result: Record<string, unknown> = {};
          for (const [key, item] of Object.entries(value)) result[key] = visit(item, `${path}.${key}`, depth + 1);
          return result;
        }
        return value;
      };
      const rendered = visit(template, field, 0);
      const size = JSON.stringify(rendered)?.length ?? 0;
      if (size > limits.maxOutputChars) {
        throw new TemplateRenderError(field, `rendered JSON is longer than ${limits.maxOutputChars} characters`);
      }
      return rendered;
    },
  };
}

function hardenedLiquid(
  limits: TemplateLimits,
  extra: { outputEscape?: 'escape' | ((value: unknown) => string); keepOutputType?: boolean },
): Liquid {
  const liquid = new Liquid({
    ...extra,
    // No file system: an in-memory, empty template set, and the tags that load templates refused.
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    cache: false,
    ownPropertyOnly: true,
    strictFilters: true,
    strictVariables: false,
    jsTruthy: false,
    // Dates render in UTC, whatever the worker's zone.
    timezoneOffset: 0,
    locale: 'en-US',
    parseLimit: limits.parseLimit,
    renderLimit: limits.renderLimitMs,
    memoryLimit: limits.memoryLimit,
  });
  for (const name of BLOCKED_TAGS) {
    liquid.registerTag(
      name,
      class extends Tag {
        constructor(...args: ConstructorParameters<typeof Tag>) {
          super(...args);
          throw new Error(`the "${name}" tag is not available: templates cannot load other templates`);
        }
        render(): void {}
      },
    );
  }
  return liquid;
}

/** Slack's three control characters, in strings at any depth (a `{{ object }}` keeps its shape). */
function escapeSlack(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (depth > MAX_JSON_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => escapeSlack(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, escapeSlack(item, depth + 1)]));
}

// LiquidJS types the escape as returning a string; with keepOutputType it may keep a value's type.
const slackEscapeFilter = escapeSlack as (value: unknown) => string;

/** LiquidJS messages already name the line and column; the class name adds nothing. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim().slice(0, 500);
}

/** Keeps JSON types; anything else a filter might produce becomes its text. */
function toJsonValue(value: unknown, depth = 0): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (depth > MAX_JSON_DEPTH) return null;
  if (Array.isArray(value)) return value.map((item) => toJsonValue(item, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJsonValue(item, depth + 1)]));
  }
  return String(value);
}

let sharedEngine: TemplateEngine | undefined;

/** The engine with default limits, shared by the schema check and the senders. */
export function defaultTemplateEngine(): TemplateEngine {
  sharedEngine ??= createTemplateEngine();
  return sharedEngine;
}

/**
 * The `validateTemplate` hook of webhookSchemas(): an error message when `source` does
 * not parse, undefined when it does. payload_template is checked one string value at a
 * time (the schema walks the object). A blocks_template whose source is JSON is checked
 * value by value, as it is rendered.
 */
export function validateTemplate(field: TemplateField, source: string, engine: TemplateEngine = defaultTemplateEngine()): string | undefined {
  if (field === 'blocks_template') {
    const structured = parseJsonTemplateSource(source);
    if (structured !== undefined) return checkJsonTemplate(structured, engine);
  }
  return engine.check(source);
}

/** Renders a payload_template-style object (see TemplateEngine.renderJson) with the default engine. */
export function renderJsonTemplate(template: unknown, context: TemplateContext, field = 'payload_template', engine: TemplateEngine = defaultTemplateEngine()): unknown {
  return engine.renderJson(field, template, context);
}

/** Syntax check of every string value of a JSON template; the first problem, prefixed with its path. */
export function checkJsonTemplate(template: unknown, engine: TemplateEngine = defaultTemplateEngine()): string | undefined {
  const visit = (value: unknown, path: string): string | undefined => {
    if (typeof value === 'string') {
      const problem = engine.check(value);
      return problem === undefined ? undefined : path === '' ? problem : `${path}: ${problem}`;
    }
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) {
        const problem = visit(item, `${path}[${index}]`);
        if (problem !== undefined) return problem;
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const problem = visit(item, path === '' ? key : `${path}.${key}`);
        if (problem !== undefined) return problem;
      }
    }
    return undefined;
  };
  return visit(template, '');
}

/**
 * A string template whose source is itself a JSON array or object (Slack Block Kit
 * written out as JSON) is treated as a JSON template, so event values are inserted as
 * JSON strings and cannot break the structure. Undefined for any other source.
 */
export function parseJsonTemplateSource(source: string): object | undefined {
  const trimmed = source.trim();
  if (!(trimmed.startsWith('[') || trimmed.startsWith('{'))) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
