// The part of a replacement that actually changes, for the inline diff. Pure: it doesn't import
// `vscode`, so its unit test (test/inlineDiff.test.js) runs in plain node.

/**
 * How much of `oldText` and `newText` is the same at the start (`prefix`) and at the end
 * (`suffix`), in UTF-16 code units (JavaScript string indices, as VS Code's document offsets).
 * The changed part is `oldText.slice(prefix, oldText.length - suffix)`, replaced by
 * `newText.slice(prefix, newText.length - suffix)`.
 *
 * Both ends fall on code point boundaries: a surrogate pair is never split, so the changed part
 * of 😀 → 😁 is the whole emoji, not a lone low surrogate of each.
 */
export function commonAffixes(oldText: string, newText: string): { prefix: number; suffix: number } {
    const shorter = Math.min(oldText.length, newText.length);
    let prefix = 0;
    while (prefix < shorter && oldText.charCodeAt(prefix) === newText.charCodeAt(prefix)) {
        prefix++;
    }
    // The first difference is in the low half of a pair: the pair belongs to the changed part.
    if (prefix > 0 && isHighSurrogate(oldText.charCodeAt(prefix - 1))) {
        prefix--;
    }
    let suffix = 0;
    while (suffix < shorter - prefix
        && oldText.charCodeAt(oldText.length - 1 - suffix) === newText.charCodeAt(newText.length - 1 - suffix)) {
        suffix++;
    }
    // The common end starts with the low half of a pair whose high half differs (or is part of the
    // common start): the pair belongs to the changed part.
    if (suffix > 0 && isLowSurrogate(oldText.charCodeAt(oldText.length - suffix))) {
        suffix--;
    }
    return { prefix, suffix };
}

function isHighSurrogate(codeUnit: number): boolean {
    return codeUnit >= 0xd800 && codeUnit <= 0xdbff;
}

function isLowSurrogate(codeUnit: number): boolean {
    return codeUnit >= 0xdc00 && codeUnit <= 0xdfff;
}
