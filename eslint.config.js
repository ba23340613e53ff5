// One lint configuration for every package, tests and benches: the recommended rules of
// ESLint and typescript-eslint, with the exceptions below explained where they are made.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'test-artifacts/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are already errors in tsc (noUnusedLocals/Parameters); `_`-prefixed ones are deliberate.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // The web UI's modules run in the browser.
    files: ['packages/ingester/ui-assets/**/*.js', 'test/ui/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
