import { execFile } from 'node:child_process';
import { silentLogger, type Logger } from '../log.js';

/**
 * systemd readiness and watchdog for `Type=notify` + `WatchdogSec=` (deploy/p1logger.service).
 *
 * Node cannot send on a Unix datagram socket, so this runs systemd's own `systemd-notify` (part of the systemd
 * package, so present wherever the unit runs). The unit sets `NotifyAccess=all` so a message from that child
 * counts, and systemd-notify (v246+) waits until systemd has processed the message before it exits, so the
 * message cannot be lost to the exit-before-lookup race older versions had.
 *
 * The watchdog pings prove that the event loop runs; `isAlive` can add a check of its own. They are deliberately
 * not tied to telegrams arriving: an unplugged meter is handled by the source's reconnects and reported by
 * /healthz, and restarting the service would not bring it back.
 */
export interface SystemdNotifier {
  /** True when started by systemd with a notify socket (NOTIFY_SOCKET). */
  readonly enabled: boolean;
  /** Watchdog ping period in ms, or null without WatchdogSec. */
  readonly watchdogMs: number | null;
  /** Start-up is complete: call once the queue is open, the source started and the HTTP server listens. */
  ready(status?: string): Promise<void>;
  /** A line for `systemctl status`. */
  status(text: string): Promise<void>;
  /** Shutdown has begun (before closing the queue), so systemd does not count the stop as a hang. */
  stopping(): Promise<void>;
  /** Stops the watchdog timer and waits for a message still on its way (so none arrives after). */
  close(): Promise<void>;
}

export interface SystemdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Extra liveness condition for watchdog pings; a false skips the ping (systemd restarts us after WatchdogSec). */
  isAlive?: () => boolean;
  /** The notify program; systemd-notify from PATH by default. */
  command?: string;
}

const SEND_TIMEOUT_MS = 10_000;

export function startSystemdNotify(options: SystemdNotifyOptions = {}): SystemdNotifier {
  const env = options.env ?? process.env;
  const log = options.logger ?? silentLogger();
  const command = options.command ?? 'systemd-notify';
  const enabled = env.NOTIFY_SOCKET !== undefined && env.NOTIFY_SOCKET !== '';
  let warned = false;

  function send(args: string[]): Promise<void> {
    if (!enabled) return Promise.resolve();
    return new Promise((resolve) => {
      execFile(command, args, { env, timeout: SEND_TIMEOUT_MS }, (error, _stdout, stderr) => {
        if (error !== null && !warned) {
          // Once: a missing systemd-notify would otherwise log every few seconds.
          warned = true;
          log.warn({ err: error, stderr: stderr.trim() }, `${command} failed; systemd readiness/watchdog messages are not delivered`);
        }
        resolve();
      });
    });
  }

  // systemd sets WATCHDOG_PID to the process it watches; a child that inherited the variables must not ping.
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === String(process.pid);
  const watchdogMs = enabled && forUs && Number.isFinite(usec) && usec > 0 ? Math.max(50, Math.floor(usec / 1000 / 2)) : null;
  let timer: NodeJS.Timeout | undefined;
  let ping: Promise<void> | undefined;
  if (watchdogMs !== null) {
    timer = setInterval(() => {
      // A ping still in flight (systemd busy) is not stacked with another.
      if (ping !== undefined || (options.isAlive !== undefined && !options.isAlive())) return;
      ping = send(['WATCHDOG=1']).finally(() => {
        ping = undefined;
      });
    }, watchdogMs);
    timer.unref();
  }

  return {
    enabled,
    watchdogMs,
    ready: (status) => send(['--ready', `--pid=${process.pid}`, ...(status === undefined ? [] : [`--status=${status}`])]),
    status: (text) => send([`--status=${text}`]),
    stopping: () => send(['STOPPING=1']),
    close: async () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await ping;
    },
  };
}
