import pino, { type Logger } from 'pino';

export type { Logger };

/** One structured logger per process; roles take child loggers named after themselves. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'hookrelay' } }, destination);
}
