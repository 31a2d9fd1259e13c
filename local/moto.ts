import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A running `moto_server`, bound to 127.0.0.1 only. */
export interface Moto {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export class MotoMissingError extends Error {
  override name = 'MotoMissingError';
}

/** A port the OS says is free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** moto servers started by this process and not yet stopped. */
const running = new Set<ChildProcess>();
let exitHooked = false;

/**
 * A backstop for a process that ends without stopping its moto servers (an uncaught error,
 * `process.exit`, a signal handled by {@link exitOnSignals}): a server must not outlive it.
 */
function killOnExit(child: ChildProcess): void {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const server of running) server.kill('SIGKILL');
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

async function waitForReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/moto-api/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms`);
}

/**
 * Starts `moto_server` on a free port of 127.0.0.1 and waits until it answers.
 *
 * @throws {MotoMissingError} when `moto_server` is not installed
 */
export async function startMoto({
  port,
  timeoutMs = 30_000,
}: {
  port?: number;
  timeoutMs?: number;
} = {}): Promise<Moto> {
  const chosen = port ?? (await freePort());
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(chosen)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const spawnError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (error: NodeJS.ErrnoException) => resolve(error));
  });
  if (spawnError) {
    if (spawnError.code === 'ENOENT') {
      throw new MotoMissingError('moto_server is not installed: pip install "moto[server]==5.2.1"');
    }
    throw spawnError;
  }
  killOnExit(child);
  const url = `http://127.0.0.1:${chosen}`;
  try {
    await waitForReady(url, child, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    url,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
