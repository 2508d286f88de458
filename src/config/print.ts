import { Document, isScalar } from 'yaml';
import { redactUrl } from '../sinks/spec.js';
import type { ParsedConfig, SecretRef } from './schema.js';
import { MASK } from './secret.js';

function originOf(ref: SecretRef): string {
  if (typeof ref === 'string') return 'inline';
  return 'env' in ref ? `from env ${ref.env}` : `from file ${ref.file}`;
}

/**
 * The effective configuration as YAML, each secret shown as `***` with where it comes from as a comment, and the
 * user info of sink URLs masked.
 */
export function effectiveConfigYaml(parsed: ParsedConfig): string {
  const comments: Array<{ path: (string | number)[]; text: string }> = [];
  const sinks = parsed.sinks.map((sink, i) => {
    const out: Record<string, unknown> = { ...sink, url: redactUrl(sink.url) };
    for (const key of ['token', 'password', 'ca'] as const) {
      const ref = sink[key];
      if (ref === undefined) continue;
      out[key] = MASK;
      comments.push({ path: ['sinks', i, key], text: ` ${originOf(ref)}` });
    }
    return out;
  });
  const top: Record<string, unknown> = { ...parsed, sinks };
  for (const key of ['decryptionKey', 'authenticationKey'] as const) {
    const ref = parsed[key];
    if (ref === undefined) continue;
    top[key] = MASK;
    comments.push({ path: [key], text: ` ${originOf(ref)}` });
  }
  const doc = new Document(top);
  for (const { path, text } of comments) {
    const node = doc.getIn(path, true);
    if (isScalar(node)) node.comment = text;
  }
  return doc.toString({ lineWidth: 0 });
}
