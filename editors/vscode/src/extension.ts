// Entry point: activate() creates the extension's Ctx (the language client over stdio, the next
// edit UI, the commands and the status bar item) and starts the server; deactivate() disposes it.

import * as vscode from 'vscode';
import { Ctx } from './ctx';
import { logEvent } from './eventLog';

// The one module-level binding: VS Code calls deactivate() without arguments, so this is how it
// finds the Ctx to stop. Everything else lives in the Ctx.
let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const current = new Ctx(context.extensionPath);
    ctx = current;
    // Also disposed with the extension's subscriptions, should deactivate() not run first.
    context.subscriptions.push({ dispose: () => void current.dispose() });
    logEvent('ACTIVATED');
    await current.start();
}

export async function deactivate(): Promise<void> {
    const current = ctx;
    ctx = undefined;
    await current?.dispose();
}
