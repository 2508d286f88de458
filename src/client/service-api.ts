import { readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseListen } from '../config/listen.js';

/**
 * How a command finds the running service of a data directory (LevelDB admits one process, so `status`,
 * `history`, `dead-letters` ... ask the service that holds it). The service writes where its API listens into
 * `<dataDir>/api.json` once it listens, and removes it when it stops; `/api/status` says its `dataDir`, which the
 * client checks, so another p1logger on the configured port is never mistaken for this one.
 */
export const API_FILE = 'api.json';

export interface ApiFile {
  /** Base URL of the status API, e.g. `http://127.0.0.1:8080` (loopback for a wildcard listener). */
  url: string;
  pid: number;
  /** The data directory as the service resolved it (realpath). */
  dataDir: string;
  startedAt: string;
}

/** The data directory as both sides name it: absolute, symlinks resolved (as given when it does not exist). */
export async function canonicalDataDir(dataDir: string): Promise<string> {
  return realpath(dataDir).catch(() => resolve(dataDir));
}

/** Service side: written atomically (rename) once the API listens. */
export async function writeApiFile(dataDir: string, url: string): Promise<void> {
  const content: ApiFile = { url, pid: process.pid, dataDir: await canonicalDataDir(dataDir), startedAt: new Date().toISOString() };
  const path = join(dataDir, API_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(content)}\n`, { mode: 0o644 });
  await rename(`${path}.tmp`, path);
}

/** Service side, at stop: removed only while it is still ours (a newer service may have written its own). */
export async function removeApiFile(dataDir: string): Promise<void> {
  const current = await readApiFile(dataDir);
  if (current?.pid === process.pid) await rm(join(dataDir, API_FILE), { force: true });
}

async function readApiFile(dataDir: string): Promise<ApiFile | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, API_FILE), 'utf8')) as Partial<ApiFile>;
    return typeof parsed.url === 'string' && typeof parsed.pid === 'number' && typeof parsed.dataDir === 'string' ? (parsed as ApiFile) : null;
  } catch {
    return null;
  }
}

/** `HOST:PORT` (as --listen and http.listen take it) -> a URL to ask; a wildcard host is asked on loopback. */
export function apiUrlOf(listen: string): string | null {
  const address = parseListen(listen);
  if (address === null) return null;
  const host = address.host === '0.0.0.0' ? '127.0.0.1' : address.host === '::' ? '::1' : address.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** The API of the service that holds a data directory. */
export interface ServiceApi {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** GET a JSON resource (`/api/status`, `/api/history?...`); throws with the URL and status on failure. */
  get<T>(path: string): Promise<T>;
}

export type ServiceLookup = { ok: true; api: ServiceApi; status: Record<string, unknown> } | { ok: false; reason: string };

const TIMEOUT_MS = 5000;

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return (await response.json()) as T;
}

/**
 * Finds the service of `dataDir`: from `<dataDir>/api.json`, or at `listen` (`status --listen`, for a service that
 * wrote no file), and checks that its `/api/status` reports this data directory. `reason` says why not, in words
 * that can follow "the queue is locked by a running service; ".
 */
export async function findService(dataDir: string, options: { listen?: string } = {}): Promise<ServiceLookup> {
  let base: string;
  if (options.listen !== undefined) {
    const url = apiUrlOf(options.listen);
    if (url === null) return { ok: false, reason: `--listen ${options.listen} is not HOST:PORT` };
    base = url;
  } else {
    const file = await readApiFile(dataDir);
    if (file === null) {
      return { ok: false, reason: `it wrote no ${join(dataDir, API_FILE)} (its status API is off, or it is older than this p1logger): give its address with --listen HOST:PORT` };
    }
    base = file.url;
  }
  let status: Record<string, unknown>;
  try {
    status = await getJson<Record<string, unknown>>(`${base}/api/status`);
  } catch (error) {
    return { ok: false, reason: `its status API (${base}) did not answer (${error instanceof Error ? error.message : String(error)})` };
  }
  const expected = await canonicalDataDir(dataDir);
  if (status.dataDir !== expected) {
    const theirs = typeof status.dataDir === 'string' ? status.dataDir : 'an unknown one';
    return { ok: false, reason: `the service at ${base} uses the data directory ${theirs}, not ${expected}` };
  }
  return { ok: true, status, api: { url: base, get: (path) => getJson(`${base}${path}`) } };
}
