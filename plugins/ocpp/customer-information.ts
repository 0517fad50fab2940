/**
 * customer_information (2.0.1 CustomerInformation): what a charger holds about one customer,
 * reported (NotifyCustomerInformation parts, customer-report-handlers.ts) and/or cleared. Pure.
 */
import { Type, type CommandSpec, type Static } from '../../collector/sdk/index.ts';
import { DEFAULT_ID_TOKEN_TYPE, idTokenType } from './id-token-types.ts';

const closed = { additionalProperties: false } as const;

export const customerInformationSpecs = {
  customer_information: {
    description:
      'Has a 2.0.1 charger report and/or clear what it holds about a customer (CustomerInformation), named by customer_identifier, id_token or customer_certificate (at least one); the report is read at GET /api/v1/chargers/:id/customer-information/:request_id',
    params: Type.Object(
      {
        report: Type.Boolean({ description: 'Send what it holds (NotifyCustomerInformation)' }),
        clear: Type.Boolean({ description: 'Delete what it holds' }),
        customer_identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        id_token: Type.Optional(
          Type.Object(
            {
              id: Type.String({ minLength: 1, maxLength: 36 }),
              type: Type.Optional(idTokenType({ default: DEFAULT_ID_TOKEN_TYPE })),
            },
            closed,
          ),
        ),
        customer_certificate: Type.Optional(
          Type.Object(
            {
              hash_algorithm: Type.Union([Type.Literal('SHA256'), Type.Literal('SHA384'), Type.Literal('SHA512')]),
              issuer_name_hash: Type.String({ minLength: 1, maxLength: 128 }),
              issuer_key_hash: Type.String({ minLength: 1, maxLength: 128 }),
              serial_number: Type.String({ minLength: 1, maxLength: 40 }),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
  },
} satisfies Record<string, CommandSpec>;

type Params = Static<(typeof customerInformationSpecs)['customer_information']['params']>;

/** The call, or why not. */
export function customerInformationCall(
  v16: boolean,
  params: unknown,
  requestId: number,
): { action: string; payload: Record<string, unknown> } | string {
  if (v16) return 'CustomerInformation is OCPP 2.0.1 only';
  const p = params as Params;
  if (!p.customer_identifier && !p.id_token && !p.customer_certificate)
    return 'customer_information needs one of customer_identifier, id_token, customer_certificate';
  if (!p.report && !p.clear) return 'customer_information asks for nothing: set report, clear or both';
  const c = p.customer_certificate;
  return {
    action: 'CustomerInformation',
    payload: {
      requestId,
      report: p.report,
      clear: p.clear,
      ...(p.customer_identifier ? { customerIdentifier: p.customer_identifier } : {}),
      ...(p.id_token ? { idToken: { idToken: p.id_token.id, type: p.id_token.type ?? DEFAULT_ID_TOKEN_TYPE } } : {}),
      ...(c
        ? {
            customerCertificate: {
              hashAlgorithm: c.hash_algorithm,
              issuerNameHash: c.issuer_name_hash,
              issuerKeyHash: c.issuer_key_hash,
              serialNumber: c.serial_number,
            },
          }
        : {}),
    },
  };
}
