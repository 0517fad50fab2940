import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CredentialInfo, IssuedCredential } from '../../../collector/inventory/index.ts';
import { auditNote } from '../../audit.ts';
import type { RouteContext } from '../../options.ts';
import { ms, NullableTimestamp, StringEnum, Timestamp } from '../../schemas.ts';

const tags = ['credentials'];

const CredentialJson = Type.Object({
  id: Type.String(),
  device: Type.String(),
  type: Type.String(),
  scheme: StringEnum(['sha256', 'sealed'] as const, {
    description: 'sha256: only a hash is kept; sealed: AES-256-GCM (HMAC keys)',
  }),
  active: Type.Boolean(),
  created_at: Timestamp,
  rotated_at: NullableTimestamp,
  revoked_at: NullableTimestamp,
});

const IssuedJson = Type.Object({
  ...CredentialJson.properties,
  secret: Type.String({ description: 'Shown this once: it cannot be read back' }),
});

const DeviceParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
const CredentialParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128 }), credential: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const IssueBody = Type.Object(
  {
    type: Type.String({
      pattern: '^[a-z][a-z0-9_]{1,63}$',
      description: "The plugin's credential type: ocpp_password, agent_token, pos_hmac, ...",
    }),
  },
  { additionalProperties: false },
);

function credentialJson(c: CredentialInfo) {
  return {
    ...c,
    active: c.revoked_at === null,
    created_at: ms(c.created_at)!,
    rotated_at: ms(c.rotated_at),
    revoked_at: ms(c.revoked_at),
  };
}

function issuedJson(c: IssuedCredential) {
  return { ...credentialJson(c), secret: c.secret };
}

const credentials: FastifyPluginAsyncTypebox<RouteContext> = async (app, { inventory }) => {
  app.get(
    '/devices/:id/credentials',
    {
      schema: {
        tags,
        summary: "A device's credentials (never their secrets)",
        params: DeviceParams,
        response: { 200: Type.Object({ items: Type.Array(CredentialJson) }) },
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
