// The extension's state while it is active: the language client, the output channel, the status
// bar item and the next edit UI. activate() creates one Ctx and deactivate() disposes it; nothing
// else in the extension keeps state between calls.

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

const STATUS_LABELS: { readonly [key in ServerState]: string } = {
    starting: '$(loading~spin) nextedit',
    loading: '$(loading~spin) nextedit: loading model',
    ready: '$(zap) nextedit',
    error: '$(error) nextedit',
    off: '$(circle-slash) nextedit',
};

export class Ctx {
    private client: LanguageClient | undefined;
    private readonly outputChannel: vscode.OutputChannel;
    private readonly statusBarItem: vscode.StatusBarItem;
    private state: ServerState = 'starting';
    private readonly controller: NextEditController;
    private readonly disposables: vscode.Disposable[] = [];
    /** Starts and stops, one after the other: a restart never overlaps another one or the stop. */
    private lifecycle: Promise<void> = Promise.resolve();
    private disposed = false;

    constructor(extensionPath: string) {
        this.outputChannel = vscode.window.createOutputChannel('nextedit');
        this.statusBarItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
        this.statusBarItem.command = 'nextedit.showLog';
        this.statusBarItem.name = 'nextedit';
        this.statusBarItem.show();
        this.controller = new NextEditController(() => this.client, extensionPath);
        const controller = this.controller;
        this.disposables.push(
            controller,
            vscode.commands.registerCommand('nextedit.acceptEdit', () => controller.accept()),
            vscode.commands.registerCommand('nextedit.rejectEdit', () => controller.reject()),
            vscode.commands.registerCommand('nextedit.triggerEdit', () => controller.trigger()),
            vscode.commands.registerCommand('nextedit.acceptedInlineCompletion', (id: unknown) => controller.acceptedInlineCompletion(id)),
            vscode.commands.registerCommand('nextedit.restartServer', () => this.restart()),
            vscode.commands.registerCommand('nextedit.showLog', () => this.outputChannel.show(true)),
            vscode.workspace.onDidChangeConfiguration(event => this.onDidChangeConfiguration(event)),
        );
    }

    /** Starts the server (once, after construction). */
    start(): Promise<void> {
        return this.serialized(() => this.startServer());
    }

    /** Stops the server and starts it again with the current settings. */
    restart(): Promise<void> {
        return this.serialized(async () => {
            this.controller.clear();
            await this.stopServer();
            await this.startServer();
        });
    }

    /** Stops the server, then removes the commands, the UI and the output channel. */
    async dispose(): Promise<void> {
        if (this.disposed) {
            return;
        }
        this.disposed = true;
        await this.serialized(() => this.stopServer());
        for (const disposable of this.disposables) {
            disposable.dispose();
        }
        this.disposables.length = 0;
        this.statusBarItem.dispose();
        this.outputChannel.dispose();
    }

    /** Runs `task` after the starts and stops queued before it. */
    private serialized(task: () => Promise<void>): Promise<void> {
        const next = this.lifecycle.then(task);
        // A failed task must not block the ones after it; its caller gets the error.
        this.lifecycle = next.catch(() => undefined);
        return next;
    }

    private async onDidChangeConfiguration(event: vscode.ConfigurationChangeEvent): Promise<void> {
        if (!event.affectsConfiguration('nextedit')) {
            return;
        }
        if (event.affectsConfiguration('nextedit.enable') || event.affectsConfiguration('nextedit.server')) {
            await this.restart();
            return;
        }
        const client = this.client;
        if (client !== undefined && client.isRunning()) {
            await client.sendNotification(DidChangeConfigurationNotification.type, { settings: serverSettings() });
        }
    }

    private async startServer(): Promise<void> {
        if (this.disposed) {
            return;
        }
        if (!isEnabled()) {
            this.setStatus('off', 'Disabled by the setting nextedit.enable');
            return;
        }
        const serverPath = resolveServerPath();
        if (serverPath === undefined) {
            const message = configuredServerPath()
                ? `nextedit: the server binary ${configuredServerPath()} does not exist`
                : 'nextedit: no `nextedit` binary on PATH; install it or set nextedit.server.path';
            this.setStatus('off', message);
            this.outputChannel.appendLine(message);
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
            outputChannel: this.outputChannel,
            traceOutputChannel: this.outputChannel,
        };
        const client = new LanguageClient('nextedit', 'nextedit', serverOptions, clientOptions);
        let previousState: string | undefined;
        client.onNotification('nextedit/status', (params: { state?: string; message?: string }) => {
            const state = params?.state;
            if (state === 'loading' || state === 'ready' || state === 'error' || state === 'off') {
                this.setStatus(state, params.message);
            }
            // Edits typed while the model loaded were predicted without it: ask again now that it's here.
            if (state === 'ready' && previousState === 'loading') {
                void vscode.commands.executeCommand('nextedit.triggerEdit');
            }
            previousState = state;
        });
        client.onDidChangeState(event => {
            if (event.newState === State.Stopped && this.client === client) {
                this.setStatus('off', 'The server stopped');
            }
        });
        this.client = client;
        this.setStatus('starting', `Starting ${serverPath}`);
        try {
            await client.start();
            logEvent('SERVER_STARTED', { path: serverPath, serverInfo: client.initializeResult?.serverInfo, settings: clientOptions.initializationOptions });
            if (this.state === 'starting') {
                this.setStatus('ready');
            }
        } catch (error) {
            const message = `nextedit: the server failed to start: ${errorMessage(error)}`;
            this.outputChannel.appendLine(message);
            logEvent('ERROR', { message });
            this.setStatus('error', message);
        }
    }

    private async stopServer(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client !== undefined && client.needsStop()) {
            try {
                await client.stop();
            } catch (error) {
                this.outputChannel.appendLine(`nextedit: stopping the server failed: ${errorMessage(error)}`);
            }
        }
    }

    private setStatus(state: ServerState, message?: string): void {
        this.state = state;
        this.statusBarItem.text = STATUS_LABELS[state];
        this.statusBarItem.tooltip = message ? `nextedit: ${state}: ${message}` : `nextedit: ${state}`;
        this.statusBarItem.backgroundColor = state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
        logEvent('STATUS', { state, message });
    }
}

function errorMessage(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
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
