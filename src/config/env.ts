import { z } from 'zod';
import { UNLIMITED_SANDBOX_MS } from '../temporal/sandbox-limit';

/**
 * The one place configuration is read. Every variable is part of the public contract
 * (docs/configuration.md); a bad value stops start-up with a line naming the variable.
 */

// Empty and blank variables never reach the schema: loadConfig leaves them out, so their
// defaults apply (below).
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .default('false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

const optionalUrl = z.string().trim().pipe(z.url()).optional();

const optionalString = z.string().trim().optional();

export const envSchema = z.object({
  MONGODB_URL: z
    .string()
    .trim()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  MONGODB_DB: z.string().trim().min(1).default('hookrelay'),
  TEMPORAL_ADDRESS: z
    .string()
    .trim()
    .regex(/^[^\s:]+:\d+$/, 'must be host:port')
    .default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().trim().min(1).default('hookrelay'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /** `hookrelay worker` and `hookrelay dispatcher` serve GET /metrics on HOST at this port when set. */
  HOOKRELAY_METRICS_PORT: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a port number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(65535))
    .optional(),
  HOOKRELAY_ENCRYPTION_KEY: z
    .string()
    .trim()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  HOOKRELAY_ALLOW_HTTP: booleanFlag,
  HOOKRELAY_ALLOWED_CIDRS: z.string().trim().default(''),
  /** Delivery attempts in flight per endpoint and worker process; more wait in a timer. */
  HOOKRELAY_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(20),
  /**
   * Failed attempts in a row after which an endpoint is left alone for a while; 0 turns that off.
   * A dead receiver fails 10 in a row at once; one that fails 30 % of its attempts at
   * random does so about once in 170,000 attempts (0.3^10).
   */
  HOOKRELAY_BREAKER_FAILURES: z.coerce.number().int().min(0).max(1_000).default(10),
  /**
   * How long one call into the workflow sandbox may run before the SDK fails the task, in
   * ms; 0 (the default) sets no limit and spares each call a watchdog thread
   * (src/temporal/sandbox-limit.ts).
   */
  HOOKRELAY_WORKFLOW_SANDBOX_TIMEOUT_MS: z.coerce.number().int().min(0).max(UNLIMITED_SANDBOX_MS).default(0),
  SMTP_URL: optionalUrl,
  SMTP_FROM: z.string().trim().min(3).default('hookrelay@localhost'),
  SMS_API_URL: optionalUrl,
  SMS_ACCOUNT_SID: optionalString,
  SMS_AUTH_TOKEN: optionalString,
  SMS_FROM: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.output<typeof envSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super(message);
  }
}

/** Reads and validates the environment. Unset, empty and blank variables take their defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty or blank variable (`PORT=`, compose's `${PORT:-}`) is left out, so its
  // default applies: zod fills in defaults only for absent keys, and '' would coerce to 0.
  const known = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((name) => env[name] !== undefined && env[name]!.trim() !== '')
      .map((name) => [name, env[name]]),
  );
  const parsed = envSchema.safeParse(known);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  throw new ConfigError(`invalid configuration: ${variable} ${issue.message}`, variable);
}
