// Entry point: starts the nextedit language server over stdio and wires up the next edit UI,
// the commands and the status bar item.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
    DidChangeConfigurationNotification,
    LanguageClient,
    LanguageClientOptions,
    ServerOptions,
    State,
    TransportKind,
} from 'vscode-languageclient/node';
import { logEvent } from './eventLog';
import { NextEditController } from './nextEdit';
import { configuredServerPath, extraServerEnvironment, isEnabled, serverSettings } from './settings';

type ServerState = 'starting' | 'loading' | 'ready' | 'error' | 'off';

let client: LanguageClient | undefined;
let outputChannel: vscode.OutputChannel;
let statusBarItem: vscode.StatusBarItem;
let currentState: ServerState = 'starting';

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    outputChannel = vscode.window.createOutputChannel('nextedit');
    statusBarItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
    statusBarItem.command = 'nextedit.showLog';
    statusBarItem.name = 'nextedit';
    statusBarItem.show();
    const controller = new NextEditController(() => client, context.extensionPath);
    context.subscriptions.push(
        outputChannel,
        statusBarItem,
        controller,
        vscode.commands.registerCommand('nextedit.acceptEdit', () => controller.accept()),
        vscode.commands.registerCommand('nextedit.rejectEdit', () => controller.reject()),
        vscode.commands.registerCommand('nextedit.triggerEdit', () => controller.trigger()),
        vscode.commands.registerCommand('nextedit.acceptedInlineCompletion', (id: unknown) => controller.acceptedInlineCompletion(id)),
        vscode.commands.registerCommand('nextedit.restartServer', async () => {
            controller.clear();
            await stopServer();
            await startServer();
        }),
        vscode.commands.registerCommand('nextedit.showLog', () => outputChannel.show(true)),
        vscode.workspace.onDidChangeConfiguration(async event => {
            if (!event.affectsConfiguration('nextedit')) {
                return;
            }
            if (event.affectsConfiguration('nextedit.enable') || event.affectsConfiguration('nextedit.server')) {
                controller.clear();
                await stopServer();
                await startServer();
                return;
            }
            if (client !== undefined && client.isRunning()) {
                await client.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings() });
            }
        }),
    );
    logEvent('ACTIVATED');
    await startServer();
}

export async function deactivate(): Promise<void> {
    await stopServer();
}

async function startServer(): Promise<void> {
    if (!isEnabled()) {
        setStatus('off', 'Disabled by the setting nextedit.enable');
        return;
    }
    const serverPath = resolveServerPath();
    if (serverPath === undefined) {
        const message = configuredServerPath()
            ? `nextedit: the server binary ${configuredServerPath()} does not exist`
            : 'nextedit: no `nextedit` binary on PATH; install it or set nextedit.server.path';
        setStatus('off', message);
        outputChannel.appendLine(message);
        void vscode.window.showErrorMessage(message);
        return;
    }
    const serverOptions: ServerOptions = {
        command: serverPath,
        transport: TransportKind.stdio,
        options: { env: { ...process.env, ...extraServerEnvironment() } },
    };
    const clientOptions: LanguageClientOptions = {
        documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
        initializationOptions: serverSettings(),
        outputChannel,
        traceOutputChannel: outputChannel,
    };
    const newClient = new LanguageClient('nextedit', 'nextedit', serverOptions, clientOptions);
    let previousState: string | undefined;
    newClient.onNotification('nextedit/status', (params: { state?: string; message?: string }) => {
        const state = params?.state;
        if (state === 'loading' || state === 'ready' || state === 'error' || state === 'off') {
            setStatus(state, params.message);
        }
        // Edits typed while the model loaded were predicted without it: ask again now that it's here.
        if (state === 'ready' && previousState === 'loading') {
            void vscode.commands.executeCommand('nextedit.triggerEdit');
        }
        previousState = state;
    });
    newClient.onDidChangeState(event => {
        if (event.newState === State.Stopped && client === newClient) {
            setStatus('off', 'The server stopped');
        }
    });
    client = newClient;
    setStatus('starting', `Starting ${serverPath}`);
    try {
        await newClient.start();
        logEvent('SERVER_STARTED', { path: serverPath, serverInfo: newClient.initializeResult?.serverInfo, settings: clientOptions.initializationOptions });
        if (currentState === 'starting') {
            setStatus('ready');
        }
    } catch (error) {
        const message = `nextedit: the server failed to start: ${String((error as Error).message ?? error)}`;
        outputChannel.appendLine(message);
        logEvent('ERROR', { message });
        setStatus('error', message);
    }
}

async function stopServer(): Promise<void> {
    const oldClient = client;
    client = undefined;
    if (oldClient !== undefined && oldClient.needsStop()) {
        try {
            await oldClient.stop();
        } catch (error) {
            outputChannel.appendLine(`nextedit: stopping the server failed: ${String(error)}`);
        }
    }
}

/** The binary from the setting nextedit.server.path, else `nextedit` on PATH. */
function resolveServerPath(): string | undefined {
    const configured = configuredServerPath();
    if (configured) {
        const expanded = configured.startsWith('~/') ? path.join(os.homedir(), configured.slice(2)) : configured;
        return isExecutableFile(expanded) ? expanded : undefined;
    }
    for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
        if (!directory) {
            continue;
        }
        const candidate = path.join(directory, process.platform === 'win32' ? 'nextedit.exe' : 'nextedit');
        if (isExecutableFile(candidate)) {
            return candidate;
        }
    }
    return undefined;
}

function isExecutableFile(filePath: string): boolean {
    try {
        fs.accessSync(filePath, fs.constants.X_OK);
        return fs.statSync(filePath).isFile();
    } catch {
        return false;
    }
}

function setStatus(state: ServerState, message?: string): void {
    currentState = state;
    const labels: { [key in ServerState]: string } = {
        starting: '$(loading~spin) nextedit',
        loading: '$(loading~spin) nextedit: loading model',
        ready: '$(zap) nextedit',
        error: '$(error) nextedit',
        off: '$(circle-slash) nextedit',
    };
    statusBarItem.text = labels[state];
    statusBarItem.tooltip = message ? `nextedit: ${state}: ${message}` : `nextedit: ${state}`;
    statusBarItem.backgroundColor = state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    logEvent('STATUS', { state, message });
}
