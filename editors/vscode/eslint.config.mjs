// ESLint flat config: typescript-eslint's recommended rules for the extension's sources, ESLint's
// recommended rules for the plain-node tests and the Playwright driver. `npm run lint`; the
// extension's test run (test/run.sh) fails on any error.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
    { ignores: ['dist/', 'out/', 'node_modules/'] },
    {
        files: ['src/**/*.ts'],
        extends: [js.configs.recommended, tseslint.configs.recommended],
        languageOptions: { globals: globals.node },
    },
    {
        files: ['test/**/*.js'],
        extends: [js.configs.recommended],
        languageOptions: { sourceType: 'commonjs', globals: globals.node },
    },
    {
        // drive.js hands functions to page.evaluate, which run in the browser.
        files: ['test/drive.js'],
        languageOptions: { globals: { ...globals.node, ...globals.browser } },
    },
    {
        files: ['eslint.config.mjs'],
        extends: [js.configs.recommended],
    },
);
