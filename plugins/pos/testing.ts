import { signatureHeader } from './protocol.ts';

/** For tests: posts `events` to the webhook signed as back office `sender`; the status and JSON answer. */
export async function postEvents(
  url: string,
  sender: string,
  secret: string,
  events: unknown[],
): Promise<{ status: number; body: Record<string, any> }> {
  const body = JSON.stringify({ events });
  const res = await fetch(`${url}/ingest/pos`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-fleetpulse-sender': sender,
      'x-fleetpulse-signature': signatureHeader([secret], Math.floor(Date.now() / 1000), body),
    },
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
