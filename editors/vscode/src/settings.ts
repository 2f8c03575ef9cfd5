// The extension's settings and the server configuration object built from them.
//
// Setting names under `nextedit.` mirror the server's configuration keys (`model.backend`,
// `predict.debounce_ms`, ...), so the object is built by walking a list of keys. Only values that
// the user actually set are sent: the server's own defaults, `~/.config/nextedit/config.toml` and
// `<workspace>/nextedit.toml` keep working for everything else.

import * as vscode from 'vscode';

/** Server configuration keys that VS Code settings can set, as dotted paths. */
const SERVER_SETTING_KEYS: readonly string[] = [
    'model.backend',
    'model.path',
    'model.format',
    'model.threads',
    'openai.endpoint',
    'openai.model',
    'openai.api_key_env',
    'predict.debounce_ms',
    'predict.max_tokens',
    'symbolic.enabled',
    'diagnostics',
    'log.level',
];

export type ServerSettings = { [key: string]: unknown };

function isSetByUser<T>(inspected: ReturnType<vscode.WorkspaceConfiguration['inspect']> | undefined): inspected is { key: string; globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T } {
    if (inspected === undefined) {
        return false;
    }
    return inspected.globalValue !== undefined
        || inspected.workspaceValue !== undefined
        || inspected.workspaceFolderValue !== undefined;
}

/** The server configuration object: `{model: {backend: ...}, predict: {...}, ...}`. */
export function serverSettings(): ServerSettings {
    const configuration = vscode.workspace.getConfiguration('nextedit');
    const settings: ServerSettings = {};
    for (const key of SERVER_SETTING_KEYS) {
        if (!isSetByUser(configuration.inspect(key))) {
            continue;
        }
        const value = configuration.get(key);
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

/** Client-side debounce before asking for a next edit, in milliseconds. */
export function debounceMilliseconds(): number {
    const value = vscode.workspace.getConfiguration('nextedit').get<number>('predict.debounce_ms', 75);
    return Math.max(0, Math.min(value, 5000));
}

export function isEnabled(): boolean {
    return vscode.workspace.getConfiguration('nextedit').get<boolean>('enable', true);
}

export function configuredServerPath(): string {
    return vscode.workspace.getConfiguration('nextedit').get<string>('server.path', '').trim();
}

export function extraServerEnvironment(): { [name: string]: string } {
    const value = vscode.workspace.getConfiguration('nextedit').get<{ [name: string]: unknown }>('server.extraEnv', {});
    const environment: { [name: string]: string } = {};
    for (const [name, variable] of Object.entries(value ?? {})) {
        environment[name] = String(variable);
    }
    return environment;
}
