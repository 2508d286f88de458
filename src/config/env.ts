import { parse as parseYaml } from 'yaml';
import { P1Error } from '../errors.js';
import { configFields, ENV_PREFIX, type ConfigField } from './fields.js';
import { yamlProblem } from './file.js';
import { pathLayer, type ConfigLayer } from './layer.js';

/** Environment variables that are not schema keys but are still ours. */
export const CONFIG_PATH_ENV = 'P1LOGGER_CONFIG';
/** A switch of `run` (for tests and checks), documented in its --help: not a setting, and no warning. */
export const REPORT_STORED_ENV = 'P1LOGGER_REPORT_STORED';
const SWITCHES = [CONFIG_PATH_ENV, REPORT_STORED_ENV];

/**
 * Turns a variable's text into the type the key wants, so `P1LOGGER_HTTP_ENABLED=false` is a boolean. Text that
 * does not convert is passed on unchanged, and the schema reports it with the key, the value and what is allowed.
 */
function coerce(field: ConfigField, text: string): unknown {
  switch (field.kind) {
    case 'number': {
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return text;
    }
    case 'list':
      return text;
    default:
      return text;
  }
}

/**
 * `P1LOGGER_<KEY_PATH>` for every key outside lists (`P1LOGGER_QUEUE_RETENTION_MAX_AGE_DAYS`), and one variable
 * holding a whole list as YAML (`P1LOGGER_SINKS='[{name: influx, url: "influxdb:..."}]'`).
 */
export function envLayer(env: NodeJS.ProcessEnv): { layer: ConfigLayer; warnings: string[] } {
  const byName = new Map<string, ConfigField>();
  for (const field of configFields()) if (field.env !== null) byName.set(field.env, field);
  const entries: Array<{ path: string[]; value: unknown; origin: string }> = [];
  const warnings: string[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined) continue;
    const secretFile = name.endsWith('_FILE') ? byName.get(name.slice(0, -'_FILE'.length)) : undefined;
    if (secretFile?.kind === 'secret') {
      // NAME_FILE names a file holding the secret, as for the sinks' INFLUX_TOKEN_FILE.
      entries.push({ path: secretFile.path, value: { file: text }, origin: name });
      continue;
    }
    const field = byName.get(name);
    if (field === undefined) {
      if (!SWITCHES.includes(name)) warnings.push(`environment variable ${name} is not a p1logger setting; ignored (known: ${[...byName.keys(), ...SWITCHES].join(', ')})`);
      continue;
    }
    let value: unknown;
    if (field.kind === 'list') {
      try {
        value = parseYaml(text);
      } catch (error) {
        // Only the error code and column: the text could hold an inline secret.
        const { code, linePos } = error as { code?: string; linePos?: Array<{ col: number }> };
        const at = linePos?.[0] !== undefined ? ` at column ${linePos[0].col}` : '';
        const what = code ?? (error instanceof ReferenceError ? yamlProblem(error) : 'syntax error');
        throw new P1Error('P1_CONFIG_INVALID', `${name}: ${field.key} is not valid YAML (${what}${at}); allowed: ${field.meta.allowed} written as YAML, e.g. [{name: influx, url: "influxdb:http://127.0.0.1:8086?org=home&bucket=p1"}]`);
      }
    } else {
      value = coerce(field, text);
    }
    entries.push({ path: field.path, value, origin: name });
  }
  return { layer: pathLayer(entries), warnings };
}
