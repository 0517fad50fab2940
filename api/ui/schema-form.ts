import { html, type Html } from './html.ts';

/** The part of a JSON Schema (as TypeBox writes it) a form field is made from. */
interface FieldSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: FieldSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  description?: string;
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

/** The choices of an enum, or of a union of constants (TypeBox's literal unions), else undefined. */
function choices(s: FieldSchema): unknown[] | undefined {
  if (s.enum) return s.enum;
  if (s.anyOf?.every((a) => a.const !== undefined)) return s.anyOf.map((a) => a.const);
  return undefined;
}

const typeOf = (s: FieldSchema) => (Array.isArray(s.type) ? s.type[0] : s.type);

/**
 * Form fields for a command's declared parameter schema: a plugin's new command gets its form
 * with no page code. Strings, numbers, booleans and enums become inputs; anything else a JSON text box.
 */
export function schemaFields(schema: FieldSchema, idPrefix: string): Html {
  const required = new Set(schema.required ?? []);
  return html`${Object.entries(schema.properties ?? {}).map(([name, s]) => {
    const id = `${idPrefix}-${name}`;
    const req = required.has(name) ? html` required` : null;
    const label = html`<label for="${id}">${name}${required.has(name) ? null : ' (optional)'}</label>`;
    const hint = s.description ? html`<span class="hint">${s.description}</span>` : null;
    const options = choices(s);
    const value = s.default === undefined ? '' : JSON.stringify(s.default).replace(/^"(.*)"$/, '$1');
    if (options)
      return html`${label}<select id="${id}" name="${name}" ${req}>
          ${required.has(name) ? null : html`<option value=""></option>`}${options.map(
            (o) => html`<option ${String(o) === value ? html`selected` : null}>${String(o as string)}</option>`,
          )}</select
        >${hint}`;
    const type = typeOf(s);
    if (type === 'boolean')
      return html`<span class="check"
          ><input
            type="checkbox"
            id="${id}"
            name="${name}"
            value="true"
            ${s.default === true ? html`checked` : null}
          />${label}</span
        >${hint}`;
    if (type === 'number' || type === 'integer')
      return html`${label}<input
          type="number"
          id="${id}"
          name="${name}"
          value="${value}"
          step="${type === 'integer' ? '1' : 'any'}"
          ${s.minimum !== undefined ? html` min="${s.minimum}"` : null}${s.maximum !== undefined ? html` max="${s.maximum}"` : null}${req}
        />${hint}`;
    if (type === 'string')
      return html`${label}<input
          id="${id}"
          name="${name}"
          value="${value}"
          ${s.maxLength !== undefined ? html` maxlength="${s.maxLength}"` : null}${req}
        />${hint}`;
    return html`${label}<textarea id="${id}" name="${name}" rows="3" placeholder="JSON" ${req}></textarea>${hint}`;
  })}`;
}

/**
 * A posted form's values typed by the schema (numbers, booleans, JSON), empty optional fields
 * left out. The API (the command bus) still validates the result against the same schema.
 */
export function schemaValues(schema: FieldSchema, form: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const type = typeOf(s);
    const raw = form[name];
    if (type === 'boolean') {
      out[name] = raw === 'true';
      continue;
    }
    if (raw === undefined || raw === '') continue;
    if (type === 'number' || type === 'integer') out[name] = Number(raw);
    else if (type === 'string' || choices(s)) out[name] = raw;
    else {
      try {
        out[name] = JSON.parse(raw) as unknown;
      } catch {
        out[name] = raw; // the API names the field and why it is refused
      }
    }
  }
  return out;
}
