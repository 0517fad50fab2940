// The HTTP API: `build()` for a standalone app, `apiPlugin` to mount on a shared server.
export { build, type BuildOptions } from './app.ts';
export { apiPlugin } from './plugin.ts';
export { bootstrapAdminKey, type BootstrapResult } from './bootstrap.ts';
export { DEFAULT_LIMITS, type ApiLimits, type ApiOptions } from './options.ts';
export { ApiError, ERRORS, type ErrorBody, type ErrorCode } from './errors.ts';
export { auditNote } from './audit.ts';
export { installNetworkAllowList, OPERATOR_PATHS, upgradeNetworkAllowList } from './network-allow.ts';
export type { Access } from './auth.ts';
export { AccessTable } from './access-table.ts';
