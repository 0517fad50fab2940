import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditNote } from '../../audit.ts';
import { decodeCursor, encodeCursor, isString } from '../../cursor.ts';
import type { RouteContext } from '../../options.ts';
import { IdParams } from '../../schemas.ts';
import { SiteCreate, SiteJson, siteJson, SiteListQuery, SitePage, SitePatch } from './schemas.ts';

const tags = ['sites'];

const sites: FastifyPluginAsyncTypebox<RouteContext> = async (app, { inventory }) => {
  app.get(
    '/sites',
    {
      schema: { tags, summary: 'List sites', querystring: SiteListQuery, response: { 200: SitePage } },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const { customer, q, cursor, limit } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'id', isString);
      const page = inventory.sites.list({ customer, q, after, limit });
      const last = page.items.at(-1);
      return { items: page.items.map(siteJson), next_cursor: page.more && last ? encodeCursor('id', last.id) : null };
    },
  );

  app.post(
    '/sites',
    {
      schema: { tags, summary: 'Create a site', body: SiteCreate, response: { 201: SiteJson } },
      config: { minRole: 'admin', action: 'sites.create' },
    },
    async (request, reply) => {
      const site = inventory.sites.create(request.body);
      auditNote(request, { target: site.id });
      return reply.status(201).header('location', `${request.url}/${site.id}`).send(siteJson(site));
    },
  );

  app.get(
    '/sites/:id',
    {
      schema: { tags, summary: 'One site', params: IdParams, response: { 200: SiteJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => siteJson(inventory.sites.require(request.params.id)),
  );

  app.patch(
    '/sites/:id',
    {
      schema: { tags, summary: 'Change a site', params: IdParams, body: SitePatch, response: { 200: SiteJson } },
      config: { minRole: 'admin', action: 'sites.update' },
    },
    async (request) => {
      auditNote(request, { details: { fields: Object.keys(request.body) } });
      return siteJson(inventory.sites.update(request.params.id, request.body));
    },
  );

  app.delete(
    '/sites/:id',
    {
      schema: {
        tags,
        summary: 'Delete a site',
        description: 'Refused with 409 FP_CONFLICT, deleting nothing, while devices are at the site.',
        params: IdParams,
      },
      config: { minRole: 'admin', action: 'sites.delete' },
    },
    async (request, reply) => {
      inventory.sites.delete(request.params.id);
      return reply.status(204).send();
    },
  );
};

export default sites;
