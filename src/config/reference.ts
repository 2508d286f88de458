import { configFields, type ConfigField } from './fields.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

function defaultText(field: ConfigField): string {
  if (field.defaultValue !== undefined) return code(typeof field.defaultValue === 'string' ? field.defaultValue : JSON.stringify(field.defaultValue));
  return field.required ? 'required' : '—';
}

function envText(field: ConfigField): string {
  if (field.env !== null) return code(field.env);
  const list = configFields().find((f) => f.kind === 'list' && field.key.startsWith(`${f.key}[]`));
  return list?.env != null ? `in ${code(list.env)}` : '—';
}

/** The README's configuration reference, generated from the schema so the two cannot drift. */
export function configReferenceMarkdown(): string {
  const rows = configFields().map((field) =>
    [code(field.key), envText(field), field.meta.flag !== undefined ? code(field.meta.flag) : '—', defaultText(field), cell(field.meta.allowed), cell(field.meta.description)].join(' | '),
  );
  return ['| key | environment | flag | default | allowed | description |', '|---|---|---|---|---|---|', ...rows.map((r) => `| ${r} |`)].join('\n') + '\n';
}
