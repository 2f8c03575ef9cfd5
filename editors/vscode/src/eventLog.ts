// A line-per-event log of what the extension showed and did, for end-to-end tests.
//
// It is written only when the environment variable NEXTEDIT_VSCODE_EVENT_LOG names a file; tests
// read it to check what the server answered next to what the screen shows.

import * as fs from 'fs';

const eventLogPath = process.env.NEXTEDIT_VSCODE_EVENT_LOG;

export function logEvent(kind: string, details?: unknown): void {
    if (!eventLogPath) {
        return;
    }
    const line = details === undefined ? kind : `${kind} ${JSON.stringify(details)}`;
    try {
        fs.appendFileSync(eventLogPath, line + '\n');
    } catch {
        // A test log that cannot be written must not break the editor.
    }
}
