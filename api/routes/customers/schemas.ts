import { Type } from 'typebox';
import { CONTRACTS, type Customer } from '../../../collector/inventory/index.ts';
import { Cursor, Limit, ms, Nullable, PageOf, Slug, StringEnum, Timestamp } from '../../schemas.ts';

const Company = Type.String({ minLength: 1, maxLength: 200 });
const ContactName = Nullable(Type.String({ minLength: 1, maxLength: 200 }));
const Email = Nullable(Type.String({ format: 'email', maxLength: 254 }));
const Phone = Nullable(Type.String({ pattern: '^[+0-9 ()./-]{3,32}$', description: 'digits, spaces and + ( ) . / -' }));
const Contract = StringEnum(CONTRACTS, { description: 'Service contract' });

export const CustomerJson = Type.Object({
  id: Type.String(),
  company: Type.String(),
  contact_name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  contract: Contract,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const CustomerCreate = Type.Object(
  {
    id: Type.Optional(Slug),
    company: Company,
    contact_name: Type.Optional(ContactName),
    email: Type.Optional(Email),
    phone: Type.Optional(Phone),
    contract: Type.Optional(StringEnum(CONTRACTS, { description: 'Default standard' })),
  },
  { additionalProperties: false },
);

export const CustomerPatch = Type.Object(
  {
    company: Type.Optional(Company),
    contact_name: Type.Optional(ContactName),
    email: Type.Optional(Email),
    phone: Type.Optional(Phone),
    contract: Type.Optional(Contract),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const CustomerListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Substring of the company name' })),
    cursor: Type.Optional(Cursor),
    limit: Limit(),
  },
  { additionalProperties: false },
);

export const CustomerPage = PageOf(CustomerJson);

export function customerJson(c: Customer) {
  return { ...c, created_at: ms(c.created_at)!, updated_at: ms(c.updated_at)! };
}
