// Unit tests of which VS Code settings reach the server: a repository's `.vscode/settings.json`
// (workspace and folder values) must not set the endpoint, the model files, the backend, the binary
// or its environment. Runs in plain node against the modules built for the unit tests:
//   npm run build:unit && node --test test/settings.test.js
'use strict';
const assert = require('assert/strict');
const fs = require('fs');
const path = require('path');
const { test } = require('node:test');
const {
    buildServerSettings,
    SERVER_DEFAULT_VALUES,
    SERVER_SETTING_KEYS,
    USER_ONLY_SETTING_KEYS,
    userSetting,
} = require('../out/serverConfiguration');

const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
const declared = packageJson.contributes.configuration.properties;

/** The keys (without `nextedit.`) that must never come from a workspace. */
const MUST_BE_USER_ONLY = [
    'server.path',
    'server.extraEnv',
    'model.backend',
    'model.path',
    'model.lora',
    'openai.endpoint',
    'openai.model',
    'openai.api_key_env',
    'log.file',
];

/** The settings that the extension reads itself and never sends to the server. */
const CLIENT_ONLY = ['enable', 'server.path', 'server.extraEnv', 'trace.server'];

/**
 * A stand-in for `vscode.workspace.getConfiguration('nextedit')`, from the four layers VS Code
 * merges: package.json defaults, user, workspace and folder settings (each `{key: value}`).
 */
function fakeConfiguration({ user = {}, workspace = {}, folder = {} } = {}) {
    const defaultOf = key => declared[`nextedit.${key}`]?.default;
    return {
        get(key) {
            return folder[key] ?? workspace[key] ?? user[key] ?? defaultOf(key);
        },
        inspect(key) {
            return {
                key: `nextedit.${key}`,
                defaultValue: defaultOf(key),
                globalValue: user[key],
                workspaceValue: workspace[key],
                workspaceFolderValue: folder[key],
            };
        },
    };
}

/** A value for `key` from the repository, that the user did not choose. */
function hostileValue(key) {
    const setting = declared[`nextedit.${key}`];
    if (key === 'model.backend') {
        return 'openai';
    }
    switch (setting?.type) {
    case 'boolean': return false;
    case 'integer': return 7;
    case 'number': return 0.5;
    case 'object': return { LD_PRELOAD: '/repo/evil.so' };
    default: return setting?.enum ? setting.enum[setting.enum.length - 1] : `http://attacker.example/${key}`;
    }
}

function valueAt(settings, key) {
    return key.split('.').reduce((object, segment) => (object === undefined ? undefined : object[segment]), settings);
}

test('the protected keys are all user-only', () => {
    for (const key of MUST_BE_USER_ONLY) {
        assert.ok(USER_ONLY_SETTING_KEYS.has(key), `${key} is not user-only`);
    }
    for (const name of Object.keys(declared)) {
        if (name.startsWith('nextedit.openai.')) {
            assert.ok(USER_ONLY_SETTING_KEYS.has(name.slice('nextedit.'.length)), `${name} is not user-only`);
        }
    }
});

test('package.json makes VS Code ignore workspace values of the user-only settings', () => {
    let checked = 0;
    for (const key of USER_ONLY_SETTING_KEYS) {
        const setting = declared[`nextedit.${key}`];
        if (setting === undefined) {
            continue;
        }
        assert.ok(['machine', 'application'].includes(setting.scope),
            `nextedit.${key} has scope ${setting.scope}, so a workspace can set it`);
        checked++;
    }
    assert.ok(checked >= 7, `only ${checked} user-only settings are declared`);
});

test('workspace and folder values of user-only settings never reach the server', () => {
    for (const layer of ['workspace', 'folder']) {
        const values = {};
        for (const key of SERVER_SETTING_KEYS) {
            values[key] = hostileValue(key);
        }
        const settings = buildServerSettings(fakeConfiguration({ [layer]: values }));
        for (const key of SERVER_SETTING_KEYS) {
            if (USER_ONLY_SETTING_KEYS.has(key)) {
                assert.equal(valueAt(settings, key), undefined, `${layer} value of ${key} was sent`);
            } else {
                assert.deepEqual(valueAt(settings, key), values[key], `${layer} value of ${key} was not sent`);
            }
        }
        assert.equal(settings.openai, undefined);
        assert.doesNotMatch(JSON.stringify(settings), /attacker|openai/);
    }
});

test('a workspace cannot override the user value of a user-only setting', () => {
    const user = { 'openai.endpoint': 'http://127.0.0.1:8080', 'model.backend': 'openai', 'model.path': '/models/zeta.gguf' };
    const workspace = { 'openai.endpoint': 'http://attacker.example', 'model.backend': 'none', 'model.path': '/repo/evil.gguf' };
    const settings = buildServerSettings(fakeConfiguration({ user, workspace, folder: workspace }));
    assert.deepEqual(settings, {
        model: { backend: 'openai', path: '/models/zeta.gguf' },
        openai: { endpoint: 'http://127.0.0.1:8080' },
    });
});

test('other settings are sent from any layer, and only when set', () => {
    assert.deepEqual(buildServerSettings(fakeConfiguration()), {});
    const settings = buildServerSettings(fakeConfiguration({
        user: { 'predict.debounce_ms': 50, 'log.level': 'debug' },
        workspace: { 'predict.debounce_ms': 100, 'symbolic.enabled': false },
        folder: { 'diagnostics': true },
    }));
    assert.deepEqual(settings, {
        predict: { debounce_ms: 100 },
        log: { level: 'debug' },
        symbolic: { enabled: false },
        diagnostics: true,
    });
});

test('the server binary and its environment come from the user settings only', () => {
    const repository = { 'server.path': '/repo/evil-nextedit', 'server.extraEnv': { LD_PRELOAD: '/repo/evil.so' } };
    const fromRepository = fakeConfiguration({ workspace: repository, folder: repository });
    assert.equal(userSetting(fromRepository, 'server.path', ''), '');
    assert.deepEqual(userSetting(fromRepository, 'server.extraEnv', {}), {});
    const fromUser = fakeConfiguration({ user: { 'server.path': '/usr/local/bin/nextedit' }, workspace: repository, folder: repository });
    assert.equal(userSetting(fromUser, 'server.path', ''), '/usr/local/bin/nextedit');
});

test('package.json declares every server setting, and each of its settings has a use', () => {
    const declaredKeys = Object.keys(declared).map(name => {
        assert.ok(name.startsWith('nextedit.'), `${name} is not under nextedit.`);
        return name.slice('nextedit.'.length);
    });
    for (const key of SERVER_SETTING_KEYS) {
        assert.ok(declaredKeys.includes(key), `the server setting ${key} is not in package.json`);
        assert.ok(!CLIENT_ONLY.includes(key), `${key} is both sent and client-only`);
    }
    for (const key of declaredKeys) {
        assert.ok(SERVER_SETTING_KEYS.includes(key) || CLIENT_ONLY.includes(key),
            `nextedit.${key} is declared in package.json but neither sent to the server nor read by the extension`);
    }
    for (const key of Object.keys(SERVER_DEFAULT_VALUES)) {
        assert.ok(SERVER_SETTING_KEYS.includes(key), `${key} has a "server chooses" value but is not sent`);
        assert.deepEqual(declared[`nextedit.${key}`].default, SERVER_DEFAULT_VALUES[key],
            `the default of nextedit.${key} is not the value that lets the server choose`);
    }
});

test('model.threads 0 lets the server choose: it is not sent; other counts are', () => {
    assert.match(declared['nextedit.model.threads'].description, /0 lets the server choose/);
    assert.deepEqual(buildServerSettings(fakeConfiguration({ user: { 'model.threads': 0 } })), {});
    assert.deepEqual(buildServerSettings(fakeConfiguration({ user: { 'model.threads': 4 }, workspace: { 'model.threads': 0 } })), {});
    assert.deepEqual(buildServerSettings(fakeConfiguration({ user: { 'model.threads': 2 } })), { model: { threads: 2 } });
});
