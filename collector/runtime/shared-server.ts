import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, RouteHandlerMethod, RouteOptions } from 'fastify';
import type { PluginHttp, PluginRouteOptions } from '../sdk/index.ts';
import { peerAddress } from './client-address.ts';

type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void | Promise<void>;

/**
 * Decides a WebSocket upgrade before any plugin sees it (`http.allow` on operator paths): undefined
 * to go on, or the status and JSON body that refuse it. `client` has `trust_proxy` applied.
 */
export type UpgradeGate = (request: IncomingMessage, client: string) => { status: number; body: unknown } | undefined;

/**
 * The one HTTP server every plugin shares. Fastify freezes its routes once it listens, but a
 * plugin whose start failed may be started again later: each route is therefore registered once
 * and calls the handler of the newest registration. WebSocket upgrades are dispatched by path
 * prefix, longest first; an upgrade nobody claims is answered 404.
 *
 * Routes that declare `config.minRole` are not added here: the API mounts them inside its own scope
 * (`mountApiRoutes`), so its keys, roles, rate limit, audit and errors apply to them exactly as
 * to the core routes.
 */
export class SharedServer {
  private readonly handlers = new Map<string, RouteHandlerMethod>();
  private readonly errorHandlers = new Map<string, NonNullable<RouteOptions['errorHandler']>>();
  private readonly upgrades: Array<{ prefix: string; owner: string; handler: UpgradeHandler }> = [];

  private readonly apiRoutes: Array<{ owner: string; route: RouteOptions }> = [];
  private apiMounted = false;

  constructor(
    readonly app: FastifyInstance,
    /** The client address of a request (trust_proxy applied); plugins see it as `ctx.http.clientAddress`. */
    private readonly clientAddress: (request: IncomingMessage) => string = peerAddress,
    private readonly gate: UpgradeGate = () => undefined,
  ) {
    app.addHook('onReady', async () => {
      const orphan = this.apiRoutes[0];
      if (orphan && !this.apiMounted) {
        throw new Error(`${orphan.owner}: route ${orphan.route.url} needs an API role, but this process mounts no API`);
      }
    });
    const parseJson = app.getDefaultJsonParser('error', 'ignore');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      request.rawBody = body as Buffer;
      void parseJson(request, (body as Buffer).toString('utf8'), done);
    });
    app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refused = this.gate(request, this.clientAddress(request));
      if (refused) {
        const body = JSON.stringify(refused.body);
        return void socket.end(
          `HTTP/1.1 ${refused.status} ${STATUS_CODES[refused.status]}\r\nConnection: close\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      }
      const path = (request.url ?? '/').split('?')[0];
      const match = this.upgrades.find((u) => path.startsWith(u.prefix));
      if (match) {
        // A failing handler (an inventory that cannot answer) costs this client, not the process.
        Promise.resolve()
          .then(() => match.handler(request, socket, head))
          .catch((err: unknown) => {
            app.log.error({ err, path }, 'a WebSocket upgrade handler failed');
            socket.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          });
        return;
      }
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  /** The `ctx.http` of one plugin instance. */
  forPlugin(owner: string): PluginHttp {
    return {
      clientAddress: this.clientAddress,
      route: (options: PluginRouteOptions) => {
        const methods = ([] as string[]).concat(options.method);
        const key = `${methods.join(',')} ${options.url}`;
        const known = this.handlers.has(key);
        this.handlers.set(key, options.handler);
        // A route's error handler (body too large, malformed JSON) is rebound like its handler.
        if (options.errorHandler) this.errorHandlers.set(key, options.errorHandler);
        else this.errorHandlers.delete(key);
        if (known) return;
        if (this.app.server.listening) {
          throw new Error(`${owner}: route ${key} must be added during the plugin's first start`);
        }
        const handlers = this.handlers;
        const errorHandlers = this.errorHandlers;
        const bound: RouteOptions = {
          ...options,
          handler: function (request, reply) {
            return handlers.get(key)!.call(this, request, reply);
          },
          ...(options.errorHandler && {
            errorHandler: function (error, request, reply) {
              const own = errorHandlers.get(key);
              if (own) return own.call(this, error, request, reply);
              reply.send(error);
            },
          }),
        };
        if (!options.config?.minRole) return void this.app.route(bound);
        if (this.apiMounted) throw new Error(`${owner}: API route ${key} must be added before the API is mounted`);
        const config = options.config;
        // The audit log names every mutating call; a plugin may name its own action.
        const action =
          config.action ?? `${owner}.${methods.join('_').toLowerCase()}${options.url.replace(/\/:?/g, '.')}`;
        this.apiRoutes.push({ owner, route: { ...bound, config: { ...config, action } } });
      },
      upgrade: (prefix, handler) => {
        const index = this.upgrades.findIndex((u) => u.prefix === prefix);
        if (index >= 0 && this.upgrades[index].owner !== owner) {
          throw new Error(`${owner}: WebSocket path ${prefix} is already taken by ${this.upgrades[index].owner}`);
        }
        if (index >= 0) this.upgrades.splice(index, 1);
        this.upgrades.push({ prefix, owner, handler });
        this.upgrades.sort((a, b) => b.prefix.length - a.prefix.length);
      },
    };
  }

  /**
   * Adds the plugins' API routes (those with `config.minRole`) to the API's scope (its `extend`
   * hook). Their URLs are absolute (`/api/v1/charging-sessions`) and must lie under the API's prefix.
   */
  mountApiRoutes(api: FastifyInstance): void {
    this.apiMounted = true;
    for (const { owner, route } of this.apiRoutes) {
      if (!route.url.startsWith(api.prefix + '/'))
        throw new Error(`${owner}: API route ${route.url} is not under ${api.prefix}`);
      api.route({ ...route, url: route.url.slice(api.prefix.length) });
    }
  }

  /** Drops the upgrade handlers of a stopped plugin instance. */
  release(owner: string): void {
    for (let i = this.upgrades.length - 1; i >= 0; i--)
      if (this.upgrades[i].owner === owner) this.upgrades.splice(i, 1);
  }
}
