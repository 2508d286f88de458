import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { P1Error } from '../errors.js';

export interface Asset {
  type: string;
  body: Buffer;
  cache: string;
}

export interface Assets {
  page: Asset;
  /** By URL path. */
  files: Map<string, Asset>;
  version: string;
}

// The same from src/http (tsx) and dist/http (built): both sit two levels below the package root, and the page's
// files stay in src/http/static/ (plain browser JS and CSS, no build step); install.sh copies them along.
const root = new URL('../../', import.meta.url);
const staticDir = new URL('src/http/static/', root);
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

async function asset(path: string, cache: string): Promise<Asset> {
  const ext = path.slice(path.lastIndexOf('.') + 1);
  try {
    return { type: TYPES[ext] ?? 'application/octet-stream', body: await readFile(path), cache };
  } catch (error) {
    throw new P1Error('P1_FILE_NOT_FOUND', `status page file ${path} is missing: an incomplete install (run deploy/install.sh again)`, { cause: error });
  }
}

let loaded: Promise<Assets> | undefined;

/** Reads the page, its script and style, and uPlot (from the installed npm package, never a CDN) once. */
export function loadAssets(): Promise<Assets> {
  loaded ??= (async () => {
    const own = (name: string): string => fileURLToPath(new URL(name, staticDir));
    const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { version?: string };
    const files = new Map<string, Asset>([
      ['/static/app.js', await asset(own('app.js'), 'no-cache')],
      ['/static/app.css', await asset(own('app.css'), 'no-cache')],
      ['/static/favicon.svg', await asset(own('favicon.svg'), 'public, max-age=86400')],
      // Browsers ask for this whatever the page says: answer it rather than log a 404.
      ['/favicon.ico', await asset(own('favicon.svg'), 'public, max-age=86400')],
      ['/static/uPlot.iife.min.js', await asset(require.resolve('uplot/dist/uPlot.iife.min.js'), 'public, max-age=86400')],
      ['/static/uPlot.min.css', await asset(require.resolve('uplot/dist/uPlot.min.css'), 'public, max-age=86400')],
    ]);
    return { page: await asset(own('index.html'), 'no-cache'), files, version: pkg.version ?? '0.0.0' };
  })();
  // A failed load is not kept: the next server start tries again.
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}
