// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** No file of src/ imports local/ (the embedded store, the simulator, the local host), at any depth: deployed code never starts them. */
const NO_LOCAL = { regex: '(^|/)local/', message: 'src/ never imports local/: the local host hands its parts in as overrides.' };

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tools/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_LOCAL] }] },
  },
  {
    // Replaces the rule's options above for the core (ESLint does not merge them), so NO_LOCAL is repeated here.
    files: ['src/chat/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': ['error', { patterns: [
        NO_LOCAL,
        { group: ['@azure/*', '@azure-rest/*'], message: 'The chat core has no Azure imports: use a port.' },
        // At any depth (`../store/…` from src/chat, `../../store/…` from src/chat/tokenizer): the adapters' folders
        // and the files above the core.
        { regex: '^(\\.\\./)+(store|model|http|functions)(/|$)', message: 'The core never imports an adapter.' },
        { regex: '^(\\.\\./)+(config|app|Services)(\\.js)?$', message: 'The core never imports an adapter.' },
      ] }],
    },
  },
);
