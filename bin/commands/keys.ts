import { existsSync } from 'node:fs';
import { openInventory, ROLES, type ApiKeyInfo, type Role } from '../../collector/inventory/index.ts';
import { parseFlags, usageExit, stdio, type Io } from '../args.ts';
import { ConfigError, inventoryPath, loadConfig } from '../config.ts';

const USAGE = `usage: fleetpulse keys <command> [options]

  keys create --role <${ROLES.join('|')}> --name <name>
                       creates an API key and prints it once (stdout); it cannot be shown again
  keys list [--json]   every key with its role, creation, last use and state (never the key)
  keys revoke <id>     revokes a key; it is refused from its next request on

Options:
  --db <file>        the inventory. Default: inventory.path of the configuration, else
                     <data_dir>/fleetpulse.db (./data/fleetpulse.db)
  --config <file>    the configuration those defaults come from (env FLEETPULSE_CONFIG)

Safe while \`fleetpulse serve\` runs: the server reads keys from the inventory on every request.`;

export default async function keys(argv: string[], io: Io = stdio): Promise<number> {
  const flags = parseFlags(argv, USAGE, {
    db: { type: 'string' },
    config: { type: 'string', short: 'c' },
    role: { type: 'string' },
    name: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (!flags) return usageExit(argv);
  const [command, ...rest] = flags.positionals;
  const usage = (message: string) => {
    io.err(`fleetpulse keys: ${message}\n\n${USAGE}`);
    return 2;
  };

  let dbPath: string;
  try {
    dbPath = flags.values.db ?? defaultInventoryPath(flags.values.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`fleetpulse keys: invalid configuration: ${err.message}`);
    return 2;
  }

  switch (command) {
    case 'create': {
      const { role, name } = flags.values;
      if (!role || !(ROLES as readonly string[]).includes(role))
        return usage(`--role must be one of ${ROLES.join(', ')}`);
      if (!name?.trim()) return usage('--name is required: who or what will use the key');
      if (rest.length) return usage(`unexpected argument '${rest[0]}'`);
      const fresh = !existsSync(dbPath);
      const inventory = openInventory({ path: dbPath });
      try {
        const created = inventory.apiKeys.create({ name: name.trim(), role: role as Role, createdBy: 'cli' });
        if (fresh) io.err(`created a new inventory at ${dbPath}`);
        io.err(`created ${created.role} key ${created.id} '${created.name}'. It is shown only now; store it safely:`);
        io.out(created.key);
        return 0;
      } finally {
        inventory.close();
      }
    }
    case 'list': {
      if (rest.length) return usage(`unexpected argument '${rest[0]}'`);
      if (!existsSync(dbPath)) return missing(io, dbPath);
      const inventory = openInventory({ path: dbPath });
      try {
        const list = inventory.apiKeys.list();
        if (flags.values.json) io.out(JSON.stringify(list, null, 2));
        else io.out(table(list));
        return 0;
      } finally {
        inventory.close();
      }
    }
    case 'revoke': {
      if (rest.length !== 1) return usage('revoke takes one key id (see `fleetpulse keys list`)');
      if (!existsSync(dbPath)) return missing(io, dbPath);
      const inventory = openInventory({ path: dbPath });
      try {
        const key = inventory.apiKeys.get(rest[0]);
        if (!key) {
          io.err(`fleetpulse keys: no key '${rest[0]}' in ${dbPath}`);
          return 1;
        }
        if (key.revoked_at !== null) {
          io.err(`key ${key.id} '${key.name}' was already revoked on ${new Date(key.revoked_at).toISOString()}`);
          return 0;
        }
        inventory.apiKeys.revoke(key.id);
        io.err(`revoked ${key.role} key ${key.id} '${key.name}'`);
        if (key.role === 'admin' && inventory.apiKeys.count({ activeOnly: true, role: 'admin' }) === 0) {
          io.err('note: no active admin key is left; create one with `fleetpulse keys create --role admin --name ...`');
        }
        return 0;
      } finally {
        inventory.close();
      }
    }
    case undefined:
      return usage('a command is required');
    default:
      return usage(`unknown command '${command}'`);
  }
}

/** Where serve keeps the inventory: `inventory.path`, else `<data_dir>/fleetpulse.db`. */
export function defaultInventoryPath(configFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return inventoryPath(loadConfig(configFile ?? env.FLEETPULSE_CONFIG, env));
}

function missing(io: Io, dbPath: string): number {
  io.err(`fleetpulse keys: no inventory at ${dbPath} (pass --db, or create a key first: \`fleetpulse keys create\`)`);
  return 1;
}

function table(list: ApiKeyInfo[]): string {
  const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 19) + 'Z');
  const rows = [
    ['ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED', 'STATE'],
    ...list.map((k) => [
      k.id,
      k.name,
      k.role,
      when(k.created_at),
      when(k.last_used_at),
      k.revoked_at === null ? 'active' : `revoked ${when(k.revoked_at)}`,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
