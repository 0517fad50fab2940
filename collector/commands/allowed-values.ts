/**
 * The values a choice parameter allows (an enum, or a union of literals), read from the schema
 * at the offending value's path. Not from the validation errors: TypeBox reports at most 8
 * (`maxErrors`), so a union of 11 literals would be listed as its first 8.
 */
interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  anyOf?: Node[];
  enum?: unknown[];
  const?: unknown;
}

/** The allowed values at a JSON pointer (`/profile/purpose`, `/types/0`), or undefined for no choice. */
export function allowedValues(schema: unknown, instancePath: string): unknown[] | undefined {
  let node = schema as Node | undefined;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node?.properties && Object.hasOwn(node.properties, key)) node = node.properties[key];
    else if (node?.items && /^\d+$/.test(key)) node = node.items;
    else return undefined;
  }
  if (node?.enum) return node.enum;
  if (node?.anyOf?.length && node.anyOf.every((n) => 'const' in n)) return node.anyOf.map((n) => n.const);
  return undefined;
}
