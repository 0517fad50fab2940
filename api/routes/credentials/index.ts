import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditNote } from '../../audit.ts';
import type { RouteContext } from '../../options.ts';
import {
  CredentialList,
  CredentialParams,
  credentialJson,
  DeviceParams,
  IssueBody,
  issuedJson,
  IssuedJson,
} from './schemas.ts';

const tags = ['credentials'];

const credentials: FastifyPluginAsyncTypebox<RouteContext> = async (app, { inventory }) => {
  app.get(
    '/devices/:id/credentials',
    {
      schema: {
        tags,
        summary: "A device's credentials (never their secrets)",
        params: DeviceParams,
        response: { 200: CredentialList },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => ({ items: inventory.credentials.list(request.params.id).map(credentialJson) }),
  );

  app.post(
    '/devices/:id/credentials',
    {
      schema: {
        tags,
        summary: 'Issue a credential; the secret is in this response only',
        description:
          'Other active credentials of the same type stay valid: issue a new one, move the device over, then revoke the old one.',
        params: DeviceParams,
        body: IssueBody,
        response: { 201: IssuedJson },
      },
      config: { minRole: 'admin', action: 'credentials.issue' },
    },
    async (request, reply) => {
      const issued = inventory.credentials.issue(request.params.id, request.body.type);
      auditNote(request, { details: { credential: issued.id, type: issued.type } });
      return reply.status(201).header('cache-control', 'no-store').send(issuedJson(issued));
    },
  );

  app.post(
    '/devices/:id/credentials/:credential/rotate',
    {
      schema: {
        tags,
        summary: 'Replace the secret; the old one stops working at once',
        params: CredentialParams,
        response: { 200: IssuedJson },
      },
      config: { minRole: 'admin', action: 'credentials.rotate' },
    },
    async (request, reply) => {
      const rotated = inventory.credentials.rotate(request.params.id, request.params.credential);
      auditNote(request, { details: { credential: rotated.id, type: rotated.type } });
      return reply.header('cache-control', 'no-store').send(issuedJson(rotated));
    },
  );

  app.delete(
    '/devices/:id/credentials/:credential',
    {
      schema: {
        tags,
        summary: 'Revoke a credential, effective for the next connection or request',
        params: CredentialParams,
      },
      config: { minRole: 'admin', action: 'credentials.revoke' },
    },
    async (request, reply) => {
      const revoked = inventory.credentials.revoke(request.params.id, request.params.credential);
      auditNote(request, { details: { credential: revoked.id, type: revoked.type } });
      return reply.status(204).send();
    },
  );
};

export default credentials;
