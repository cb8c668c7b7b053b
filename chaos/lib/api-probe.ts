/**
 * A light, steady request loop against the API role: GET /healthz and an authenticated
 * POST /v1/organizations/webhooks/list, alternately. Every answer is kept with its time,
 * so 5xx can be split into those inside a fault window (the API itself killed, MongoDB
 * or Temporal restarting) and those outside one, which must not happen.
 */
export interface ApiSample {
  /** Sent and settled (answered or given up), ms since the epoch. */
  at: number;
  endAt: number;
  route: 'healthz' | 'list';
  /** HTTP status, or 0 when there was no answer (refused, reset, timed out). */
  status: number;
  error?: string;
}

export interface ApiProbe {
  readonly samples: readonly ApiSample[];
  stop(): Promise<void>;
}

export function startApiProbe(options: { baseUrl: string; apiKey: string; intervalMs: number; timeoutMs?: number }): ApiProbe {
  const samples: ApiSample[] = [];
  let stopped = false;
  let turn = 0;
  const once = async () => {
    const route: ApiSample['route'] = turn++ % 2 === 0 ? 'healthz' : 'list';
    const at = Date.now();
    try {
      const response =
        route === 'healthz'
          ? await fetch(`${options.baseUrl}/healthz`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) })
          : await fetch(`${options.baseUrl}/v1/organizations/webhooks/list?limit=5`, {
              method: 'POST',
              headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
              body: '{}',
              signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
            });
      await response.arrayBuffer();
      samples.push({ at, endAt: Date.now(), route, status: response.status });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      samples.push({ at, endAt: Date.now(), route, status: 0, error: cause?.code ?? (error as Error).name });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      await once();
      const wait = options.intervalMs - (Date.now() - started);
      if (wait > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
