import { z } from 'zod';
import { configSchema, type FieldMeta } from './schema.js';

export type FieldKind = 'string' | 'number' | 'boolean' | 'enum' | 'secret' | 'list';

/** One settable key of the schema, derived from it (so the table, env names and errors cannot drift). */
export interface ConfigField {
  /** Key path; `[]` stands for "every element" of a list (`sinks[].url`). */
  path: string[];
  /** Dotted form: `http.listen`, `sinks[].url`. */
  key: string;
  kind: FieldKind;
  /** `P1LOGGER_...`; null inside lists (the whole list is one variable). */
  env: string | null;
  defaultValue: unknown;
  required: boolean;
  meta: FieldMeta;
}

export const ENV_PREFIX = 'P1LOGGER_';

/** `syncIntervalMs` -> `SYNC_INTERVAL_MS`. */
export function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map(envSegment).join('_');
}

export function keyOf(path: readonly (string | number)[]): string {
  let key = '';
  for (const part of path) {
    if (typeof part === 'number') key += `[${part}]`;
    else if (part === '[]') key += '[]';
    else key += key === '' ? part : `.${part}`;
  }
  return key;
}

type AnySchema = z.core.$ZodType;

function defOf(schema: AnySchema): z.core.$ZodTypeDef & Record<string, unknown> {
  return schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
}

/** Strips default/prefault/optional wrappers, collecting the metadata and default found on the way. */
function unwrap(schema: AnySchema): { inner: AnySchema; meta: FieldMeta | undefined; defaultValue: unknown; required: boolean } {
  let current = schema;
  let found: FieldMeta | undefined;
  let defaultValue: unknown;
  let required = true;
  for (;;) {
    found ??= z.globalRegistry.get(current) as FieldMeta | undefined;
    const def = defOf(current);
    if (def.type === 'default' || def.type === 'prefault') {
      if (defaultValue === undefined) defaultValue = def.defaultValue;
      required = false;
      current = def.innerType as AnySchema;
    } else if (def.type === 'optional') {
      required = false;
      current = def.innerType as AnySchema;
    } else {
      return { inner: current, meta: found, defaultValue, required };
    }
  }
}

function kindOf(inner: AnySchema, meta: FieldMeta): FieldKind {
  if (meta.secret === true) return 'secret';
  switch (defOf(inner).type) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return 'enum';
    case 'array':
      return 'list';
    default:
      return 'string';
  }
}

function walk(schema: AnySchema, path: string[], inList: boolean, out: ConfigField[]): void {
  const { inner, meta, defaultValue, required } = unwrap(schema);
  const def = defOf(inner);
  if (def.type === 'object') {
    const shape = def.shape as Record<string, AnySchema>;
    for (const [key, child] of Object.entries(shape)) walk(child, [...path, key], inList, out);
    return;
  }
  if (meta === undefined) throw new Error(`config schema: ${keyOf(path)} has no description`);
  out.push({
    path,
    key: keyOf(path),
    kind: kindOf(inner, meta),
    env: inList ? null : envName(path),
    defaultValue,
    required,
    meta,
  });
  if (def.type === 'array') walk(def.element as AnySchema, [...path, '[]'], true, out);
}

let cache: ConfigField[] | undefined;

/** Every key of the schema, in schema order; lists come before their element keys. */
export function configFields(): ConfigField[] {
  if (cache === undefined) {
    cache = [];
    walk(configSchema, [], false, cache);
  }
  return cache;
}

/** The field a concrete path (`['sinks', 0, 'url']`) belongs to, or the closest enclosing one. */
export function fieldFor(path: readonly PropertyKey[]): ConfigField | undefined {
  const pattern = path.map((p) => (typeof p === 'number' ? '[]' : String(p)));
  const fields = configFields();
  for (let n = pattern.length; n > 0; n--) {
    const key = keyOf(pattern.slice(0, n));
    const field = fields.find((f) => f.key === key);
    if (field !== undefined) return field;
  }
  return undefined;
}

/** Keys allowed directly under an object path: for "unknown key" messages. */
export function childKeys(path: readonly PropertyKey[]): string[] {
  const pattern = keyOf(path.map((p) => (typeof p === 'number' ? '[]' : String(p))));
  const names = new Set<string>();
  for (const field of configFields()) {
    const next = field.path[path.length];
    if (next !== undefined && next !== '[]' && keyOf(field.path.slice(0, path.length)) === pattern) names.add(next);
  }
  return [...names];
}
