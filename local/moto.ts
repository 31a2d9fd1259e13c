import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { UsageError } from './cli.js';

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

/**
 * Whether `port` of 127.0.0.1 can be listened on now: tried by listening on it, then closing.
 * moto_server cannot tell us it failed to bind before another server on that port answers its
 * readiness check, so a busy port is refused before it is started.
 *
 * @throws {UsageError} naming MOTO_PORT and the fix, when the port is in use or needs privileges
 */
export async function checkPortFree(port: number): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new UsageError(
        `MOTO_PORT ${port} is in use (another moto_server, or npm start already running?): set MOTO_PORT to another port, or 0 for a free one`,
      );
    }
    if (code === 'EACCES') {
      throw new UsageError(`MOTO_PORT ${port} needs privileges: set MOTO_PORT to one above 1023, or 0`);
    }
    throw error;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
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
 * Starts `moto_server` on `port` of 127.0.0.1 (a free one when not given) and waits until it answers.
 *
 * @throws {MotoMissingError} when `moto_server` is not installed
 * @throws {UsageError} when `port` is in use (see {@link checkPortFree})
 */
export async function startMoto({
  port,
  timeoutMs = 30_000,
}: {
  port?: number;
  timeoutMs?: number;
} = {}): Promise<Moto> {
  if (port !== undefined) await checkPortFree(port);
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
