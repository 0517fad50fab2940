import http from 'node:http';
import https from 'node:https';
import { OutboundRefused, type OutboundPolicy } from './outbound-policy.ts';

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Longest answer kept, bytes; more is an error. Default 1 MiB. */
  maxBytes?: number;
}

export interface OutboundResponse {
  status: number;
  ok: boolean;
  /** The answer as UTF-8 text; `body` for bytes (a firmware image). */
  text: string;
  body: Buffer;
}

/**
 * One HTTP(S) request to a user-given address, through `policy`: a literal host is checked
 * before connecting, a name in the socket's own lookup (every address it resolves to).
 *
 * Redirects are never followed: a 3xx is answered as it is (not `ok`). Neither plugs nor
 * webhooks need them, and following one would mean a second, unchecked destination; re-checking
 * each hop would need our own redirect loop for no use.
 * Throws OutboundRefused when the policy refuses, other errors when the request fails.
 */
export async function outboundRequest(
  policy: OutboundPolicy,
  url: string,
  r: OutboundRequest = {},
): Promise<OutboundResponse> {
  // Literal hosts and refused names here; a name's addresses in the lookup, at connection time.
  const bad = policy.urlRefusal(url);
  if (bad) throw new OutboundRefused(url, bad);
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  const max = r.maxBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const req = client.request(
      u,
      // No shared keep-alive agent: a pooled socket skips the lookup, so one opened under another
      // policy (or before a label changed) would be reused unchecked. A fresh connection each time.
      { method: r.method ?? 'GET', headers: r.headers, signal: r.signal, lookup: policy.lookup, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) {
            // Settled here: the destroyed response may still end, with what it had so far.
            reject(new Error(`answer over ${max} bytes`));
            return req.destroy();
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks);
          resolve({ status, ok: status >= 200 && status < 300, text: body.toString('utf8'), body });
        });
        res.on('error', reject);
      },
    );
    // The lookup's refusal arrives here as the request's error, still an OutboundRefused.
    req.on('error', reject);
    req.end(r.body);
  });
}
