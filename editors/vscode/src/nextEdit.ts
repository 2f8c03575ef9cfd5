// Asks the server for the next edit after changes and shows it as an inline diff.
//
// Flow: a change to the active document clears the shown suggestion and schedules a request after
// a debounce; a newer change cancels the pending request (the language client sends
// `$/cancelRequest`). A result for an older document version is dropped. The suggestion is shown
// either as ghost text through the inline completion API (a pure insertion at the cursor) or as
// decorations: removed text struck through in red, inserted text in green after it, a gutter mark on
// its line and, when it is off screen, a hint at the cursor. Tab accepts or jumps, Esc rejects.

import * as path from 'path';
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient, Range as ProtocolRange } from 'vscode-languageclient/node';
import { logEvent } from './eventLog';
import { commonAffixes } from './inlineDiff';
import { debounceMilliseconds } from './settings';

const INLINE_EDIT_METHOD = 'textDocument/copilotInlineEdit';
const DID_SHOW_INLINE_EDIT_METHOD = 'textDocument/didShowInlineEdit';
const CONTENT_MODIFIED = -32801;
const REQUEST_CANCELLED = -32800;
const SUGGESTION_VISIBLE_CONTEXT = 'nextedit.suggestionVisible';

/** One edit of a `textDocument/copilotInlineEdit` result. */
interface ProtocolInlineEdit {
    text: string;
    textDocument: { uri: string; version: number };
    range: ProtocolRange;
    command?: { title: string; command: string; arguments?: unknown[] };
}

interface ProtocolInlineEditResult {
    edits?: ProtocolInlineEdit[];
}

/** One replacement of a suggestion. */
interface SuggestionPart {
    /** The whole range the server replaces, and the text it puts there. */
    range: vscode.Range;
    text: string;
    /** The minimal part of the change: the text removed and the text inserted at its start. */
    deletedRange: vscode.Range;
    insertedText: string;
}

/**
 * The suggestion currently shown. A suggestion can replace several places (the result's edits
 * that share the accept command's id); the first one, in document order, is where Tab jumps.
 */
interface Suggestion extends SuggestionPart {
    /** The server's id of the suggestion (the accept command's first argument). */
    id: unknown;
    protocolEdit: ProtocolInlineEdit;
    protocolEdits: ProtocolInlineEdit[];
    parts: SuggestionPart[];
    document: vscode.TextDocument;
    version: number;
    /** Shown as ghost text through the inline completion API instead of decorations. */
    asInlineCompletion: boolean;
}

export class NextEditController implements vscode.Disposable {
    private readonly disposables: vscode.Disposable[] = [];
    private readonly deletedDecoration: vscode.TextEditorDecorationType;
    private readonly insertedDecoration: vscode.TextEditorDecorationType;
    private readonly gutterDecoration: vscode.TextEditorDecorationType;
    private readonly jumpHintDecoration: vscode.TextEditorDecorationType;
    private debounceTimer: NodeJS.Timeout | undefined;
    private pendingRequest: vscode.CancellationTokenSource | undefined;
    private suggestion: Suggestion | undefined;
    private requestCounter = 0;

    constructor(private readonly getClient: () => LanguageClient | undefined, extensionPath: string) {
        this.deletedDecoration = vscode.window.createTextEditorDecorationType({
            backgroundColor: new vscode.ThemeColor('nextedit.deletedTextBackground'),
            textDecoration: 'line-through',
            rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        });
        this.insertedDecoration = vscode.window.createTextEditorDecorationType({
            rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        });
        this.gutterDecoration = vscode.window.createTextEditorDecorationType({
            gutterIconPath: path.join(extensionPath, 'media', 'gutter.svg'),
            gutterIconSize: 'contain',
            overviewRulerColor: new vscode.ThemeColor('nextedit.insertedTextForeground'),
            overviewRulerLane: vscode.OverviewRulerLane.Right,
        });
        this.jumpHintDecoration = vscode.window.createTextEditorDecorationType({});
        this.disposables.push(
            this.deletedDecoration, this.insertedDecoration, this.gutterDecoration, this.jumpHintDecoration,
            vscode.workspace.onDidChangeTextDocument(event => this.onDidChangeTextDocument(event)),
            vscode.window.onDidChangeActiveTextEditor(() => this.clear()),
            vscode.window.onDidChangeTextEditorSelection(event => this.onDidMoveCursor(event.textEditor)),
            vscode.window.onDidChangeTextEditorVisibleRanges(event => this.onDidMoveCursor(event.textEditor)),
            vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, {
                provideInlineCompletionItems: (document, position) => this.provideInlineCompletionItems(document, position),
            }),
        );
    }

    dispose(): void {
        this.cancelPending();
        this.clear();
        for (const disposable of this.disposables) {
            disposable.dispose();
        }
    }

    /** Forgets the shown suggestion without telling the server (typing over it is no rejection). */
    clear(): void {
        const suggestion = this.suggestion;
        this.suggestion = undefined;
        void vscode.commands.executeCommand('setContext', SUGGESTION_VISIBLE_CONTEXT, false);
        if (suggestion === undefined) {
            return;
        }
        for (const editor of vscode.window.visibleTextEditors) {
            if (editor.document === suggestion.document) {
                this.removeDecorations(editor);
            }
        }
    }

    /** Asks for a next edit at the cursor now (the trigger command). */
    trigger(): void {
        const editor = vscode.window.activeTextEditor;
        if (editor === undefined) {
            return;
        }
        this.cancelPending();
        this.clear();
        void this.requestNextEdit(editor, 'manual');
    }

    /** Tab: jumps to an off-screen suggestion, otherwise applies it and tells the server. */
    async accept(): Promise<void> {
        const editor = vscode.window.activeTextEditor;
        const suggestion = this.suggestion;
        logEvent('ACCEPT_COMMAND', { hasSuggestion: suggestion !== undefined });
        if (editor === undefined || suggestion === undefined || editor.document !== suggestion.document) {
            return;
        }
        if (suggestion.document.version !== suggestion.version) {
            this.clear();
            return;
        }
        if (!isOnScreen(editor, suggestion.range)) {
            const target = suggestion.deletedRange.start;
            editor.selection = new vscode.Selection(target, target);
            editor.revealRange(suggestion.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
            logEvent('JUMPED', { line: target.line + 1 });
            this.render(editor);
            return;
        }
        this.clear();
        // The cursor goes to the end of the last replacement, shifted by the ones before it.
        const document = editor.document;
        let shift = 0;
        for (const part of suggestion.parts.slice(0, -1)) {
            shift += part.text.length - (document.offsetAt(part.range.end) - document.offsetAt(part.range.start));
        }
        const last = suggestion.parts[suggestion.parts.length - 1];
        const cursorOffset = document.offsetAt(last.range.start) + shift + last.text.length;
        const applied = await editor.edit(builder => {
            for (const part of suggestion.parts) {
                builder.replace(part.range, part.text);
            }
        });
        if (!applied) {
            logEvent('ACCEPT_FAILED', { id: suggestion.id });
            return;
        }
        const cursor = editor.document.positionAt(cursorOffset);
        editor.selection = new vscode.Selection(cursor, cursor);
        logEvent('ACCEPTED', { id: suggestion.id, line: suggestion.range.start.line + 1, text: suggestion.text, parts: suggestion.parts.length });
        this.sendAccepted(suggestion);
    }

    /** Esc: hides the suggestion and tells the server not to offer it again. */
    reject(): void {
        const suggestion = this.suggestion;
        if (suggestion === undefined) {
            return;
        }
        this.clear();
        logEvent('REJECTED', { id: suggestion.id });
        this.sendCommand('nextedit.reject', suggestion);
    }

    /** The inline completion item's command: the user accepted ghost text with Tab. */
    acceptedInlineCompletion(id: unknown): void {
        const suggestion = this.suggestion;
        if (suggestion !== undefined && suggestion.id === id) {
            this.suggestion = undefined;
        }
        logEvent('ACCEPTED', { id, inlineCompletion: true });
        const client = this.getClient();
        if (client !== undefined) {
            void client.sendRequest(ExecuteCommandRequest.type, { command: 'nextedit.accept', arguments: [id] })
                .then(undefined, error => logEvent('ERROR', { command: 'nextedit.accept', message: String(error) }));
        }
    }

    private sendAccepted(suggestion: Suggestion): void {
        this.sendCommand('nextedit.accept', suggestion);
    }

    private sendCommand(command: string, suggestion: Suggestion): void {
        const client = this.getClient();
        if (client === undefined) {
            return;
        }
        const argumentsOfCommand = suggestion.protocolEdit.command?.arguments ?? [suggestion.id];
        void client.sendRequest(ExecuteCommandRequest.type, { command, arguments: argumentsOfCommand })
            .then(undefined, error => logEvent('ERROR', { command, message: String(error) }));
    }

    private onDidChangeTextDocument(event: vscode.TextDocumentChangeEvent): void {
        if (event.contentChanges.length === 0) {
            return;
        }
        const editor = vscode.window.activeTextEditor;
        if (event.document.uri.scheme === 'file') {
            logEvent('CHANGED', {
                version: event.document.version,
                changes: event.contentChanges.map(change => ({ line: change.range.start.line + 1, character: change.range.start.character, removed: change.rangeLength, text: change.text })),
            });
        }
        if (this.suggestion !== undefined && this.suggestion.document === event.document) {
            this.clear();
        }
        if (editor === undefined || editor.document !== event.document) {
            return;
        }
        this.cancelPending();
        this.debounceTimer = setTimeout(() => {
            this.debounceTimer = undefined;
            void this.requestNextEdit(editor, 'change');
        }, debounceMilliseconds());
    }

    private onDidMoveCursor(editor: vscode.TextEditor): void {
        if (this.suggestion !== undefined && editor.document === this.suggestion.document && !this.suggestion.asInlineCompletion) {
            this.renderJumpHint(editor, this.suggestion);
        }
    }

    private cancelPending(): void {
        if (this.debounceTimer !== undefined) {
            clearTimeout(this.debounceTimer);
            this.debounceTimer = undefined;
        }
        if (this.pendingRequest !== undefined) {
            this.pendingRequest.cancel();
            this.pendingRequest.dispose();
            this.pendingRequest = undefined;
        }
    }

    private async requestNextEdit(editor: vscode.TextEditor, reason: string): Promise<void> {
        const client = this.getClient();
        if (client === undefined || !client.isRunning()) {
            return;
        }
        const document = editor.document;
        const version = document.version;
        const cancellation = new vscode.CancellationTokenSource();
        this.pendingRequest = cancellation;
        const requestNumber = ++this.requestCounter;
        const params = {
            textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri), version },
            position: client.code2ProtocolConverter.asPosition(editor.selection.active),
        };
        logEvent('REQUEST', { number: requestNumber, reason, version, line: params.position.line, character: params.position.character });
        let result: ProtocolInlineEditResult | null;
        try {
            result = await client.sendRequest<ProtocolInlineEditResult | null>(INLINE_EDIT_METHOD, params, cancellation.token);
        } catch (error) {
            const code = (error as { code?: number }).code;
            const expected = code === CONTENT_MODIFIED || code === REQUEST_CANCELLED || cancellation.token.isCancellationRequested;
            logEvent(expected ? 'STALE' : 'ERROR', { number: requestNumber, code, message: String((error as Error).message ?? error) });
            return;
        } finally {
            if (this.pendingRequest === cancellation) {
                this.pendingRequest = undefined;
            }
            cancellation.dispose();
        }
        if (cancellation.token.isCancellationRequested || document.version !== version || vscode.window.activeTextEditor !== editor) {
            logEvent('STALE', { number: requestNumber });
            return;
        }
        const protocolEdit = result?.edits?.[0];
        if (protocolEdit === undefined) {
            logEvent('NO_EDIT', { number: requestNumber });
            return;
        }
        // The edits that share the first one's accept command form one suggestion.
        const id = protocolEdit.command?.arguments?.[0];
        const protocolEdits = (result?.edits ?? []).filter(edit =>
            edit.command?.arguments?.[0] === id && (edit.textDocument?.uri ?? params.textDocument.uri) === params.textDocument.uri);
        if (protocolEdits.some(edit => edit.textDocument?.version !== undefined && edit.textDocument.version !== version)) {
            logEvent('STALE', { number: requestNumber, version: protocolEdit.textDocument.version });
            return;
        }
        this.show(editor, protocolEdits, client);
    }

    private show(editor: vscode.TextEditor, protocolEdits: ProtocolInlineEdit[], client: LanguageClient): void {
        const document = editor.document;
        const parts: SuggestionPart[] = [];
        for (const edit of protocolEdits) {
            const range = document.validateRange(client.protocol2CodeConverter.asRange(edit.range));
            const part = minimalPart(document, range, edit.text);
            if (part !== undefined) {
                parts.push(part);
            }
        }
        parts.sort((left, right) => left.range.start.compareTo(right.range.start));
        if (parts.length === 0) {
            logEvent('NO_EDIT', { reason: 'no-op' });
            return;
        }
        if (parts.some((part, index) => index > 0 && parts[index - 1].range.end.isAfter(part.range.start))) {
            logEvent('NO_EDIT', { reason: 'overlapping edits' });
            return;
        }
        const first = parts[0];
        const cursor = editor.selection.active;
        const asInlineCompletion = parts.length === 1 && first.deletedRange.isEmpty
            && first.deletedRange.start.isEqual(cursor) && editor.selection.isEmpty;
        const protocolEdit = protocolEdits[0];
        const suggestion: Suggestion = {
            ...first,
            id: protocolEdit.command?.arguments?.[0],
            protocolEdit,
            protocolEdits,
            parts,
            document,
            version: document.version,
            asInlineCompletion,
        };
        const range = first.range;
        this.suggestion = suggestion;
        logEvent('SHOWN', {
            id: suggestion.id,
            version: suggestion.version,
            line: range.start.line + 1,
            deleted: document.getText(first.deletedRange),
            inserted: first.insertedText,
            text: first.text,
            parts: parts.length,
            inlineCompletion: asInlineCompletion,
            onScreen: isOnScreen(editor, range),
        });
        void client.sendNotification(DID_SHOW_INLINE_EDIT_METHOD, { item: protocolEdit });
        if (asInlineCompletion) {
            void vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
            return;
        }
        void vscode.commands.executeCommand('setContext', SUGGESTION_VISIBLE_CONTEXT, true);
        this.render(editor);
    }

    private render(editor: vscode.TextEditor): void {
        const suggestion = this.suggestion;
        if (suggestion === undefined) {
            return;
        }
        const hoverMessage = new vscode.MarkdownString()
            .appendText('Next edit (Tab to accept, Esc to dismiss)\n')
            .appendCodeblock(suggestion.parts.map(part => part.text).join('\n…\n'));
        const deleted: vscode.DecorationOptions[] = [];
        const inserted: vscode.DecorationOptions[] = [];
        const marks: vscode.Range[] = [];
        for (const part of suggestion.parts) {
            if (!part.deletedRange.isEmpty) {
                deleted.push({ range: part.deletedRange, hoverMessage });
            }
            const insertedLines = part.insertedText.split(/\r?\n/);
            const insertedLabel = insertedLines.length > 1 ? insertedLines.join(' ⏎ ') : insertedLines[0];
            if (insertedLabel.length > 0) {
                inserted.push({
                    range: new vscode.Range(part.deletedRange.end, part.deletedRange.end),
                    hoverMessage,
                    renderOptions: {
                        after: {
                            contentText: insertedLabel,
                            color: new vscode.ThemeColor('nextedit.insertedTextForeground'),
                            backgroundColor: new vscode.ThemeColor('nextedit.insertedTextBackground'),
                            border: '1px solid',
                            borderColor: new vscode.ThemeColor('nextedit.insertedTextForeground'),
                        },
                    },
                });
            }
            const markLine = part.deletedRange.start.line;
            marks.push(new vscode.Range(markLine, 0, markLine, 0));
        }
        editor.setDecorations(this.deletedDecoration, deleted);
        editor.setDecorations(this.insertedDecoration, inserted);
        editor.setDecorations(this.gutterDecoration, marks);
        this.renderJumpHint(editor, suggestion);
    }

    private renderJumpHint(editor: vscode.TextEditor, suggestion: Suggestion): void {
        if (isOnScreen(editor, suggestion.range)) {
            editor.setDecorations(this.jumpHintDecoration, []);
            return;
        }
        const cursorLine = editor.document.lineAt(editor.selection.active.line);
        const targetLine = suggestion.deletedRange.start.line + 1;
        editor.setDecorations(this.jumpHintDecoration, [{
            range: new vscode.Range(cursorLine.range.end, cursorLine.range.end),
            renderOptions: {
                after: {
                    contentText: `    ⇥ Tab to jump to next edit, line ${targetLine}`,
                    color: new vscode.ThemeColor('editorCodeLens.foreground'),
                    fontStyle: 'italic',
                },
            },
        }]);
    }

    private removeDecorations(editor: vscode.TextEditor): void {
        editor.setDecorations(this.deletedDecoration, []);
        editor.setDecorations(this.insertedDecoration, []);
        editor.setDecorations(this.gutterDecoration, []);
        editor.setDecorations(this.jumpHintDecoration, []);
    }

    private provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.InlineCompletionItem[] {
        const suggestion = this.suggestion;
        if (suggestion === undefined || !suggestion.asInlineCompletion || suggestion.document !== document
            || suggestion.version !== document.version || !suggestion.deletedRange.start.isEqual(position)) {
            return [];
        }
        const item = new vscode.InlineCompletionItem(suggestion.insertedText, new vscode.Range(position, position), {
            title: 'Accept next edit',
            command: 'nextedit.acceptedInlineCompletion',
            arguments: [suggestion.id],
        });
        return [item];
    }
}

function isOnScreen(editor: vscode.TextEditor, range: vscode.Range): boolean {
    return editor.visibleRanges.some(visible => visible.contains(range.start));
}

/** The replacement of `range` by `text`, trimmed to what changes; undefined for a no-op. */
function minimalPart(document: vscode.TextDocument, range: vscode.Range, text: string): SuggestionPart | undefined {
    const oldText = document.getText(range);
    if (oldText === text) {
        return undefined;
    }
    // Show only what changes: trim the common prefix and suffix, whole code points only.
    const { prefix, suffix } = commonAffixes(oldText, text);
    const startOffset = document.offsetAt(range.start);
    const deletedRange = new vscode.Range(
        document.positionAt(startOffset + prefix),
        document.positionAt(startOffset + oldText.length - suffix),
    );
    return { range, text, deletedRange, insertedText: text.slice(prefix, text.length - suffix) };
}
