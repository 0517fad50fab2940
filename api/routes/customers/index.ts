import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditNote } from '../../audit.ts';
import { decodeCursor, encodeCursor, isString } from '../../cursor.ts';
import type { RouteContext } from '../../options.ts';
import { IdParams } from '../../schemas.ts';
import {
  CustomerCreate,
  CustomerJson,
  customerJson,
  CustomerListQuery,
  CustomerPage,
  CustomerPatch,
} from './schemas.ts';

const tags = ['customers'];

const customers: FastifyPluginAsyncTypebox<RouteContext> = async (app, { inventory }) => {
  app.get(
    '/customers',
    {
      schema: { tags, summary: 'List customers', querystring: CustomerListQuery, response: { 200: CustomerPage } },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const { q, cursor, limit } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, 'id', isString);
      const page = inventory.customers.list({ q, after, limit });
      const last = page.items.at(-1);
      return {
        items: page.items.map(customerJson),
        next_cursor: page.more && last ? encodeCursor('id', last.id) : null,
      };
    },
  );

  app.post(
    '/customers',
    {
      schema: { tags, summary: 'Create a customer', body: CustomerCreate, response: { 201: CustomerJson } },
      config: { minRole: 'admin', action: 'customers.create' },
    },
    async (request, reply) => {
      const customer = inventory.customers.create(request.body);
      auditNote(request, { target: customer.id });
      return reply.status(201).header('location', `${request.url}/${customer.id}`).send(customerJson(customer));
    },
  );

  app.get(
    '/customers/:id',
    {
      schema: { tags, summary: 'One customer', params: IdParams, response: { 200: CustomerJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => customerJson(inventory.customers.require(request.params.id)),
  );

  app.patch(
    '/customers/:id',
    {
      schema: {
        tags,
        summary: 'Change a customer',
        params: IdParams,
        body: CustomerPatch,
        response: { 200: CustomerJson },
      },
      config: { minRole: 'admin', action: 'customers.update' },
    },
    async (request) => {
      auditNote(request, { details: { fields: Object.keys(request.body) } });
      return customerJson(inventory.customers.update(request.params.id, request.body));
    },
  );

  app.delete(
    '/customers/:id',
    {
      schema: {
        tags,
        summary: 'Delete a customer and its sites',
        description:
          'Refused with 409 FP_CONFLICT, deleting nothing, while devices belong to the customer or its sites.',
        params: IdParams,
      },
      config: { minRole: 'admin', action: 'customers.delete' },
    },
    async (request, reply) => {
      inventory.customers.delete(request.params.id);
      return reply.status(204).send();
    },
  );
};

export default customers;
