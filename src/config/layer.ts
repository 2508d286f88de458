/**
 * One place settings come from (the built-in defaults, the file, the environment, the flags), with a way to say
 * where a given key was set, so an error can point at the line or the variable to fix.
 */
export interface ConfigLayer {
  data: Record<string, unknown>;
  /** `file.yaml:12`, `P1LOGGER_HTTP_LISTEN`, `--listen`, or undefined when this layer did not set the path. */
  locate(path: readonly PropertyKey[]): string | undefined;
}

/** A layer whose values were each set at a known path (env, flags). */
export function pathLayer(entries: Array<{ path: string[]; value: unknown; origin: string }>): ConfigLayer {
  const data: Record<string, unknown> = {};
  for (const { path, value } of entries) setIn(data, path, value);
  return {
    data,
    locate(path) {
      // The most specific setting that covers the path: P1LOGGER_SINKS covers sinks[0].url.
      let best: { length: number; origin: string } | undefined;
      for (const entry of entries) {
        const covers = entry.path.every((segment, i) => String(path[i]) === segment) && entry.path.length <= path.length;
        if (covers && (best === undefined || entry.path.length > best.length)) best = { length: entry.path.length, origin: entry.origin };
      }
      return best?.origin;
    },
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  path.forEach((segment, i) => {
    if (i === path.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (isPlainObject(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    }
  });
}

/** Objects merge key by key; anything else (lists included) is replaced by the later layer. */
export function mergeLayers(layers: readonly ConfigLayer[]): Record<string, unknown> {
  let result: Record<string, unknown> = {};
  for (const layer of layers) result = deepMerge(result, layer.data);
  return result;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}
