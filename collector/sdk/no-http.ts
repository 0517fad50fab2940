import type { PluginHttp } from './plugin.ts';

/** `ctx.http` where no HTTP server runs (the edge agent, unit tests): every use throws `why`. */
export function noHttp(why: string): PluginHttp {
  const unavailable = () => {
    throw new Error(why);
  };
  return {
    route: unavailable,
    upgrade: unavailable,
    clientAddress: unavailable,
    secure: unavailable,
    tls: false,
    requestClientCertificates: () => false,
  };
}
