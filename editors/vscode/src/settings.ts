// The extension's settings and the server configuration object built from them.
//
// Setting names under `nextedit.` mirror the server's configuration keys (`model.backend`,
// `predict.debounce_ms`, ...), so the object is built by walking a list of keys
// (serverConfiguration.ts). Only values that the user actually set are sent: the server's own
// defaults, `~/.config/nextedit/config.toml` and `<workspace>/nextedit.toml` keep working for
// everything else.

import * as vscode from 'vscode';
import { buildServerSettings, ServerSettings, userSetting } from './serverConfiguration';

/**
 * The server configuration object: `{model: {backend: ...}, predict: {...}, ...}`. The endpoint,
 * model files and backend come from the user's settings only (see serverConfiguration.ts).
 */
export function serverSettings(): ServerSettings {
    return buildServerSettings(vscode.workspace.getConfiguration('nextedit'));
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
    // User settings only: a repository must not choose the binary the extension starts.
    return userSetting(vscode.workspace.getConfiguration('nextedit'), 'server.path', '').trim();
}

export function extraServerEnvironment(): { [name: string]: string } {
    // User settings only: a repository must not set the server's environment.
    const value = userSetting<{ [name: string]: unknown }>(vscode.workspace.getConfiguration('nextedit'), 'server.extraEnv', {});
    const environment: { [name: string]: string } = {};
    for (const [name, variable] of Object.entries(value ?? {})) {
        environment[name] = String(variable);
    }
    return environment;
}
