// ESLint (flat config), run by `npm test` (scripts/test.mjs) and `npm run lint`: any finding fails the run.
// TypeScript is linted with type information (typescript-eslint reads tsconfig.json), so the promise rules
// see which calls return promises: a floating promise, a promise passed where a callback's result is ignored,
// an `await` on a non-promise. JavaScript (scripts/*.mjs, bin/) gets ESLint's recommended rules.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', 'logs/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      // The rules the issue asks for, named so that a change of preset cannot drop them.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Not adopted yet (findings when linting started): values typed `any` by libraries flowing on
      // (`response.json()`, `JSON.parse`) — no-unsafe-member-access 96, -assignment 29, -argument 17, -call 5,
      // -return 3, mostly in tests; enums compared with their string values (no-unsafe-enum-comparison 33);
      // `async` functions without `await` where an async signature is the contract (Fastify plugins, the
      // supervisorctl action table: require-await 21).
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
