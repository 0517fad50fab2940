import { OutboundPolicy, OutboundRefused, parseHostPort, PluginConfigError } from '../../collector/sdk/index.ts';

/** Where plugs live when nothing is configured: the private LAN ranges (not CGNAT, not loopback). */
export const DEFAULT_PLUG_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

const SETTING = 'plugins.plug.allowed_networks';

/** The outbound policy for plug addresses; throws PluginConfigError for a bad CIDR. */
export function plugPolicy(allowedNetworks: readonly string[]): OutboundPolicy {
  try {
    return new OutboundPolicy({ setting: SETTING, allowedNetworks });
  } catch (err) {
    throw new PluginConfigError('plug', 'allowed_networks', (err as Error).message.replace(`${SETTING}.`, 'entry '));
  }
}

/**
 * Why a plug address is refused: not `host[:port]`, or a host the policy refuses (a name is
 * resolved and every address checked). Undefined when the plug may be polled.
 */
export async function plugAddressRefusal(policy: OutboundPolicy, address: string): Promise<string | undefined> {
  const parsed = parseHostPort(address);
  if (typeof parsed === 'string') return parsed;
  try {
    await policy.check(parsed.host);
    return undefined;
  } catch (err) {
    if (err instanceof OutboundRefused) return `'${address}' refused: ${err.reason}`;
    throw err;
  }
}

/** The same without DNS: the form and a literal host. For the poll loop, which checks names as it connects. */
export function plugAddressLiteralRefusal(policy: OutboundPolicy, address: string): string | undefined {
  const parsed = parseHostPort(address);
  if (typeof parsed === 'string') return parsed;
  const bad = policy.literalRefusal(parsed.host);
  return bad ? `'${address}' refused: ${bad}` : undefined;
}
