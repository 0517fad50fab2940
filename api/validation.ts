import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

/**
 * Request validation with TypeBox's compiler, set on the API's own plugin scope (so it holds
 * whatever server the API is mounted on). Bodies are checked as sent: no coercion ("5" is not
 * a number), no stripping (an unknown field is an error), no defaults filled in behind the
 * handler's back. Querystrings and path parameters are text by nature, so they are converted
 * ("100" → 100) and get their defaults.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  const lenient = httpPart !== 'body';
  return (input: unknown) => {
    const value = lenient ? Value.Default(schema, Value.Convert(schema, input)) : input;
    if (check.Check(value)) return { value };
    return { error: [describe([...check.Errors(value)])] as never };
  };
};

export interface Problem {
  /** Dotted path of the offending input (`labels.zone`, `[3].kind`); '' for the whole part. */
  field: string;
  message: string;
}

interface RawError {
  keyword: string;
  schemaPath?: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * The one error a client should read first, with the field named. TypeBox reports an unknown
 * property three ways (a `false` sub-schema, `additionalProperties`, and for schema-valued
 * additionalProperties a nested error too), a wrong enum value once per alternative, and a bad
 * key both as `pattern` and as `propertyNames`: collapse each into one plain sentence.
 */
export function describe(errors: readonly FastifySchemaValidationError[]): FastifySchemaValidationError & Problem {
  const all = errors as unknown as RawError[];
  const result = (e: RawError, field: string, message: string) =>
    ({ ...(e as unknown as FastifySchemaValidationError), field, message }) as FastifySchemaValidationError & Problem;
  const keyPattern = all.find((e) => e.keyword === 'pattern' && e.schemaPath?.endsWith('/propertyNames'));
  const list = all.filter((e) => e.keyword !== 'additionalProperties' && e !== keyPattern);

  const unknown = list.find((e) => e.keyword === 'boolean');
  if (unknown) {
    const parts = unknown.instancePath.split('/');
    return result(unknown, toField(unknown.instancePath), `unknown field '${unescape(parts.at(-1) ?? '')}'`);
  }
  const required = list.find((e) => e.keyword === 'required');
  if (required) {
    const names = (required.params.requiredProperties as string[] | undefined) ?? [];
    return result(required, join(toField(required.instancePath), names[0] ?? ''), 'is required');
  }
  const badKeys = list.find((e) => e.keyword === 'propertyNames');
  if (badKeys) {
    const names = ((badKeys.params.propertyNames as string[] | undefined) ?? []).map((n) => `'${n}'`).join(', ');
    const rule = keyPattern ? `: keys must match ${String(keyPattern.params.pattern)}` : '';
    return result(badKeys, toField(badKeys.instancePath), `has invalid key ${names}${rule}`);
  }
  const first = list[0] ?? all[0];
  if (list.length === 0 && first.keyword === 'additionalProperties') {
    const names = (first.params.additionalProperties as string[] | undefined) ?? [];
    return result(first, join(toField(first.instancePath), names[0] ?? ''), `unknown field '${names[0] ?? ''}'`);
  }
  const field = toField(first.instancePath);
  const anyOf = list.find((e) => e.keyword === 'anyOf' && e.instancePath === first.instancePath);
  if (anyOf) {
    const allowed = list
      .filter((e) => e.instancePath === first.instancePath && e.keyword === 'const')
      .map((e) => JSON.stringify(e.params.allowedValue));
    return result(
      anyOf,
      field,
      allowed.length ? `must be one of ${allowed.join(', ')}` : (anyOf.message ?? 'is not valid'),
    );
  }
  if (first.keyword === 'enum') {
    const allowed = (first.params.allowedValues as unknown[] | undefined) ?? [];
    return result(first, field, `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  return result(first, field, first.message ?? 'is not valid');
}

function unescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** `/labels/zone` → `labels.zone`; `/3/kind` → `[3].kind`. */
export function toField(instancePath: string): string {
  let out = '';
  for (const part of instancePath.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out ? `.${key}` : key;
  }
  return out;
}

function join(base: string, name: string): string {
  if (!name) return base;
  return base ? `${base}.${name}` : name;
}

/** Checks one value against a schema and lists every problem, one per field: for import rows. */
export function problems(check: ReturnType<typeof Compile>, value: unknown): Problem[] {
  if (check.Check(value)) return [];
  const errors = [...check.Errors(value)] as unknown as RawError[];
  const bySubject = new Map<string, RawError[]>();
  for (const e of errors) {
    if (e.keyword === 'additionalProperties') continue;
    let subject = e.instancePath;
    if (e.keyword === 'required') subject = `${e.instancePath}/${(e.params.requiredProperties as string[])[0] ?? ''}`;
    if (e.keyword === 'pattern' && e.schemaPath?.endsWith('/propertyNames'))
      subject = e.instancePath.split('/').slice(0, -1).join('/');
    bySubject.set(subject, [...(bySubject.get(subject) ?? []), e]);
  }
  return [...bySubject.values()].map((group) => {
    const { field, message } = describe(group as unknown as FastifySchemaValidationError[]);
    return { field, message };
  });
}
