import type { z } from 'zod';
import { P1Error, type P1ErrorCode } from '../errors.js';
import { redactUrl } from '../sinks/spec.js';
import { childKeys, fieldFor, keyOf } from './fields.js';

/** One problem of a configuration: where it was set, the key, the value (never a secret's) and what is allowed. */
export interface ConfigIssue {
  /** `config.yaml:12`, `P1LOGGER_HTTP_LISTEN`, `--listen` or `default`. */
  where: string;
  key: string;
  /** The bad value as JSON, `(secret, not shown)`, or null when the key is missing or unknown. */
  value: string | null;
  problem: string;
  allowed: string;
  /** A code other than P1_CONFIG_INVALID (P1_SECRET_FILE_MODE, P1_FILE_NOT_FOUND), shown with the issue. */
  code?: P1ErrorCode;
}

export class ConfigError extends P1Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    const lines = issues.map((i) => `  ${formatIssue(i)}`);
    // One code for the whole: the issues' own when they share one (a secret file others can read), else the general one.
    const codes = new Set(issues.map((i) => i.code ?? 'P1_CONFIG_INVALID'));
    const code = codes.size === 1 ? [...codes][0]! : 'P1_CONFIG_INVALID';
    super(code, `invalid configuration (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):\n${lines.join('\n')}`);
    this.issues = issues;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  const subject = issue.value === null ? issue.key : `${issue.key} = ${issue.value}`;
  return `${issue.where}: ${subject}: ${issue.problem}; allowed: ${issue.allowed}${issue.code === undefined ? '' : ` (${issue.code})`}`;
}

const SECRET_SHOWN = '(secret, not shown)';

/** A bad value as the user reads it: any URL in it with user info masked, cut at whitespace and at 80 characters. */
function show(value: unknown): string {
  let text = JSON.stringify(value) ?? String(value);
  if (text.includes('//')) {
    text = redactUrl(text);
    // JSON writes a line break as \n: cut there too, as redactUrl cuts at whitespace.
    const escaped = text.search(/\\[nrtfv]/);
    if (escaped !== -1) text = `${text.slice(0, escaped)}...`;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function mappingOf(path: readonly PropertyKey[]): string {
  return `a mapping with the keys ${childKeys(path).join(', ')}`;
}

/** Turns zod's issues into ConfigIssues; `locate` says where a path was set. */
export function toConfigIssues(zodIssues: readonly z.core.$ZodIssue[], locate: (path: readonly PropertyKey[]) => string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    const path = issue.path;
    const field = fieldFor(path);
    const isSecret = field?.kind === 'secret';
    if (issue.code === 'unrecognized_keys' && childKeys(path).length === 0 && field !== undefined) {
      // An extra key inside a value that is itself a small mapping ({ env: NAME }): the value is what is wrong.
      out.push({
        where: locate(path),
        key: keyOf(path as (string | number)[]),
        value: isSecret ? SECRET_SHOWN : show(issue.input),
        problem: `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.join(', ')}`,
        allowed: field.meta.allowed,
      });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = [...path, key];
        const parent = keyOf(path as (string | number)[]);
        out.push({
          where: locate(full),
          key: keyOf(full as (string | number)[]),
          value: null,
          problem: 'not a known key',
          allowed: `the keys ${parent === '' ? 'at the top level' : `in ${parent}`}: ${childKeys(path).join(', ')}`,
        });
      }
      continue;
    }
    const key = keyOf(path as (string | number)[]) || '(top level)';
    const missing = issue.input === undefined;
    const expectsMapping = issue.code === 'invalid_type' && issue.expected === 'object';
    const params = (issue as { params?: { allowed?: string } }).params;
    let allowed: string;
    if (params?.allowed !== undefined) allowed = params.allowed;
    else if (expectsMapping || (field === undefined && !missing)) allowed = mappingOf(path);
    else allowed = field?.meta.allowed ?? issue.message;
    out.push({
      where: locate(path),
      key,
      value: missing ? null : isSecret ? SECRET_SHOWN : show(issue.input),
      problem: missing ? 'missing' : issue.code === 'custom' && issue.message !== 'Invalid input' ? issue.message : 'not allowed',
      allowed,
    });
  }
  return out;
}
