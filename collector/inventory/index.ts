// The inventory: customers, sites, devices, credentials, API keys and audit in one SQLite file.
export { openInventory, Inventory, type InventoryOptions } from './store.ts';
export { backupDatabase } from './backup.ts';
export { migrations, migrate, currentVersion, type Migration } from './migrations.ts';
export { InventoryError, type InventoryErrorReason } from './errors.ts';
export {
  CONTRACTS,
  type Contract,
  type Customer,
  type CustomerInput,
  type CustomerPatch,
  type Page,
  Customers,
} from './customers.ts';
export { type Site, type SiteInput, type SitePatch, Sites, isTimezone } from './sites.ts';
export { Devices } from './devices.ts';
export * from './device-types.ts';
export {
  Credentials,
  CREDENTIAL_TYPE_PATTERN,
  defaultScheme,
  generateSecret,
  type CredentialCheck,
  type CredentialInfo,
  type CredentialScheme,
  type IssuedCredential,
} from './credentials.ts';
export { ApiKeys, ROLES, roleRank, type ApiKeyInfo, type CreatedApiKey, type Role } from './api-keys.ts';
export { AuditLog, type AuditEntry, type AuditInput, type AuditQuery, type AuditResult } from './audit.ts';
export { InventoryDirectory } from './directory.ts';
export { SecretBox, resolveSecretKey, type SecretKeySource } from './secret-box.ts';
