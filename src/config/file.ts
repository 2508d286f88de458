import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Node } from 'yaml';
import { P1Error } from '../errors.js';
import { isPlainObject, type ConfigLayer } from './layer.js';

export interface FileLayer extends ConfigLayer {
  path: string;
  mode: number;
}

/** Reads and parses the YAML config file; syntax errors name the file, line and column. */
export async function readConfigFile(path: string): Promise<FileLayer> {
  let text: string;
  let mode: number;
  try {
    text = await readFile(path, 'utf8');
    mode = (await stat(path)).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new P1Error('P1_FILE_NOT_FOUND', `config file ${path} does not exist`, { cause: error });
    throw new P1Error('P1_CONFIG_INVALID', `config file ${path} cannot be read (${code ?? String(error)})`, { cause: error });
  }
  return parseConfigText(text, path, mode);
}

export function parseConfigText(text: string, path: string, mode = 0o600): FileLayer {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new P1Error('P1_CONFIG_INVALID', `${path}:${pos.line}:${pos.col}: not valid YAML: ${first.message.split('\n')[0] ?? ''}`);
  }
  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (error) {
    // yaml refuses aliases that expand without bound (a "billion laughs" file) with a ReferenceError.
    throw new P1Error('P1_CONFIG_INVALID', `${path}: not valid YAML: ${yamlProblem(error)}`);
  }
  if (!isPlainObject(data)) {
    throw new P1Error('P1_CONFIG_INVALID', `${path}:1: the top level must be a mapping of keys (source, dataDir, http, ...), not ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`);
  }
  return {
    path,
    mode,
    data,
    locate(issuePath) {
      // The deepest node of the path that is in the file: a missing key points at its parent's line.
      for (let n = issuePath.length; n >= 1; n--) {
        const node: unknown = doc.getIn(issuePath.slice(0, n) as unknown[], true);
        if (isNode(node) && (node as Node).range != null) {
          const pair = n === issuePath.length ? keyLine(doc, issuePath, lineCounter) : undefined;
          return `${path}:${pair ?? lineCounter.linePos((node as Node).range![0]).line}`;
        }
      }
      return issuePath.length === 0 ? path : undefined;
    },
  };
}

/** What went wrong converting a YAML document, in words (never its text: it may hold a secret). */
export function yamlProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /alias/i.test(message) ? 'its aliases (*name) expand too far (more than 100 times); write the values out instead' : message.split('\n')[0] ?? 'cannot be read';
}

/** The line of the key itself (for a value on the next line, the key's line reads better). */
function keyLine(doc: ReturnType<typeof parseDocument>, path: readonly PropertyKey[], lineCounter: LineCounter): number | undefined {
  const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1) as unknown[], true);
  if (parent === null || typeof parent !== 'object' || !('items' in parent)) return undefined;
  const items = (parent as { items: unknown[] }).items;
  const last = path[path.length - 1];
  for (const item of items) {
    if (item !== null && typeof item === 'object' && 'key' in item) {
      const key = item.key;
      if (isNode(key) && (key as { value?: unknown }).value === last && key.range != null) return lineCounter.linePos(key.range[0]).line;
    }
  }
  return undefined;
}
