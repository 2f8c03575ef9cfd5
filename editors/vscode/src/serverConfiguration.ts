// Which VS Code settings reach the server, and from where. Pure: it doesn't import `vscode`, so its
// unit test (test/settings.test.js) runs in plain node.
//
// The server trusts its `initializationOptions` like the user's own config, so the settings that
// choose where code goes or what runs (the endpoint, the model files, the backend, the binary and its
// environment) are read from the user's settings only. A repository's `.vscode/settings.json` must
// not set them: package.json gives them `"scope": "machine"`, which makes VS Code ignore workspace
// values, and they are also read here from the user value alone in case it didn't.

/** Server configuration keys that VS Code settings can set, as dotted paths. */
export const SERVER_SETTING_KEYS: readonly string[] = [
    'model.backend',
    'model.path',
    'model.format',
    'model.threads',
    'openai.endpoint',
    'openai.model',
    'openai.api_key_env',
    'predict.debounce_ms',
    'predict.max_tokens',
    'predict.min_confidence',
    'symbolic.enabled',
    'diagnostics',
    'log.level',
];

/**
 * Values that mean "let the server choose" (package.json's defaults for settings that the settings
 * UI can't leave empty): they are not sent, so the server's own default applies.
 */
export const SERVER_DEFAULT_VALUES: { readonly [key: string]: unknown } = {
    'model.threads': 0,
};

/**
 * Settings (under `nextedit.`) that only the user's settings may set, never a workspace or folder.
 * `model.lora` and `log.file` have no VS Code setting yet; they are listed so that one added later
 * is user-only from the start.
 */
export const USER_ONLY_SETTING_KEYS: ReadonlySet<string> = new Set([
    'server.path',
    'server.extraEnv',
    'model.backend',
    'model.path',
    'model.lora',
    'openai.endpoint',
    'openai.model',
    'openai.api_key_env',
    'log.file',
]);

/** What `WorkspaceConfiguration.inspect` returns, as far as it is used here. */
export interface InspectedSetting<T> {
    key: string;
    defaultValue?: T;
    globalValue?: T;
    workspaceValue?: T;
    workspaceFolderValue?: T;
}

/** The part of `vscode.WorkspaceConfiguration` used here. */
export interface SettingsSource {
    get<T>(key: string): T | undefined;
    inspect<T>(key: string): InspectedSetting<T> | undefined;
}

export type ServerSettings = { [key: string]: unknown };

/**
 * The value of `key` if the user set it, else undefined. User-only keys count only the user's
 * (global) value; other keys also count workspace and folder values and give the effective value.
 */
function valueSetByUser(configuration: SettingsSource, key: string): unknown {
    const inspected = configuration.inspect<unknown>(key);
    if (inspected === undefined) {
        return undefined;
    }
    if (USER_ONLY_SETTING_KEYS.has(key)) {
        return inspected.globalValue;
    }
    if (inspected.globalValue === undefined
        && inspected.workspaceValue === undefined
        && inspected.workspaceFolderValue === undefined) {
        return undefined;
    }
    return configuration.get(key);
}

/** The server configuration object: `{model: {backend: ...}, predict: {...}, ...}`. */
export function buildServerSettings(configuration: SettingsSource): ServerSettings {
    const settings: ServerSettings = {};
    for (const key of SERVER_SETTING_KEYS) {
        const value = valueSetByUser(configuration, key);
        if (value === undefined || (key in SERVER_DEFAULT_VALUES && value === SERVER_DEFAULT_VALUES[key])) {
            continue;
        }
        const path = key.split('.');
        let object = settings;
        for (const segment of path.slice(0, -1)) {
            if (typeof object[segment] !== 'object' || object[segment] === null) {
                object[segment] = {};
            }
            object = object[segment] as ServerSettings;
        }
        object[path[path.length - 1]] = value;
    }
    return settings;
}

/** A user-only setting: the user's value, else the default; workspace and folder values are ignored. */
export function userSetting<T>(configuration: SettingsSource, key: string, fallback: T): T {
    const inspected = configuration.inspect<T>(key);
    return inspected?.globalValue ?? inspected?.defaultValue ?? fallback;
}
