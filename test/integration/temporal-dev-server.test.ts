import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_SERVER_GOGC, devServerEnv, startTemporalDevServer } from '../../src/infra/temporal-server';
import { headAndTailLines } from '../../src/infra/tied-process';

describe('the Temporal dev server start', () => {
  let blocker: Server | undefined;
  const sockets = new Set<Socket>();

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
  });

  it('says which port was taken when it cannot listen, after trying again', async () => {
    blocker = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const lines: string[] = [];
    await expect(startTemporalDevServer({ port, log: (line) => lines.push(line) })).rejects.toThrow(/address already in use/);
    // Two more starts after the first: the message names the cause, not only the stack trace's end.
    expect(lines.filter((line) => line.includes('starting it again'))).toHaveLength(2);
  }, 120_000);
});

describe('the Temporal dev server environment', () => {
  /** The environment of the dev server listening on `address`, as the kernel holds it (Linux). */
  const environmentOf = (address: string) => {
    const port = address.split(':').pop()!;
    const pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
    const server = pids.find((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv.includes('start-dev') && argv[argv.indexOf('--port') + 1] === port && !argv.includes('-c');
      } catch {
        return false; // it exited meanwhile
      }
    });
    if (!server) throw new Error(`no dev server process listens on port ${port}`);
    return Object.fromEntries(
      readFileSync(`/proc/${server}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
  };

  it('runs the dev server with its Go collector target, unless GOGC is set', async () => {
    expect(devServerEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', GOGC: DEV_SERVER_GOGC });
    expect(devServerEnv({ GOGC: '50' })).toEqual({ GOGC: '50' });
    expect(devServerEnv({ GOGC: ' ' })).toEqual({ GOGC: DEV_SERVER_GOGC });

    for (const [gogc, expected] of [['', DEV_SERVER_GOGC], ['150', '150']] as const) {
      const server = await startTemporalDevServer({ env: { GOGC: gogc } });
      try {
        expect(environmentOf(server.address).GOGC).toBe(expected);
      } finally {
        await server.stop();
      }
    }
  }, 120_000);
});

describe('the first and last lines of a process output', () => {
  it('keeps the head, which names a panic, and the tail, and counts what it left out', () => {
    const stream = new PassThrough();
    const output = headAndTailLines(stream, 2, 3);
    stream.write('panic: listen tcp 127.0.0.1:7233: bind: address already in use\ngoroutine 1\n');
    for (let i = 0; i < 10; i++) stream.write(`frame ${i}\n`);
    stream.write('exit status 2');
    expect(output()).toBe(
      ['panic: listen tcp 127.0.0.1:7233: bind: address already in use', 'goroutine 1', '… (7 lines)', 'frame 7', 'frame 8', 'frame 9', 'exit status 2'].join('\n'),
    );
  });
});
