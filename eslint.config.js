// Lint: typescript-eslint's type-checked recommended rules. The ones that matter most here are
// no-floating-promises and no-misused-promises: in a server an unhandled rejection is an outage.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'grafana/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-floating-promises': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a binding kept on purpose (an omitted property, a required parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Fastify's contract is an async function for plugins, hooks and handlers; one that does not
      // await is the idiomatic way to return a promise there, not a mistake.
      '@typescript-eslint/require-await': 'off',
      // Prettier owns layout; this catches the comments and strings it leaves long.
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
    },
  },
  {
    // Tests read provisioning YAML, JSON replies and frames, and check their shape at run time with
    // expect(); declaring a type for each document would restate what the assertion checks. The
    // same documents end up in failure messages.
    files: ['**/*.test.ts', '**/testing.ts', '**/test-*.ts', 'test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      // expectTypeOf(plugin.start) inspects a method's type without calling it.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
