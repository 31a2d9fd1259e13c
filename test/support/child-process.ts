import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** A child process whose stdout and stderr are gathered into one text, as a terminal would show them. */
export interface WatchedProcess {
  child: ChildProcess;
  /** Everything it has written so far. */
  output(): string;
  /** Its exit code and signal, once it has exited. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs` or at exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function watch(command: string, args: string[], env: NodeJS.ProcessEnv): WatchedProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const append = (chunk: Buffer) => {
    text += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let ended = false;
  exited.then(() => {
    ended = true;
  });
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const until = Date.now() + timeoutMs;
        const check = () => {
          const match = text.match(pattern);
          if (match) return resolve(match);
          if (ended || Date.now() > until) {
            return reject(new Error(`no ${pattern} in the output${ended ? ' (it exited)' : ''}:\n${text}`));
          }
          setTimeout(check, 50);
        };
        check();
      }),
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether process `pid` is gone within `timeoutMs`. */
export async function gone(pid: number, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
