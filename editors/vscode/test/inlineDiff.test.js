// Unit tests of the inline diff's trim (src/inlineDiff.ts): the changed part of a replacement never
// splits a surrogate pair, so the struck-through range and the inserted text shown in green are
// whole characters. Runs in plain node against the modules built for the unit tests:
//   npm run build:unit && node --test test/inlineDiff.test.js
'use strict';
const assert = require('assert/strict');
const { test } = require('node:test');
const { commonAffixes } = require('../out/inlineDiff');

/** The changed parts of `oldText` -> `newText`: what the decoration strikes through and inserts. */
function changedParts(oldText, newText) {
    const { prefix, suffix } = commonAffixes(oldText, newText);
    assert.ok(prefix >= 0 && suffix >= 0, `negative prefix ${prefix} or suffix ${suffix}`);
    assert.ok(prefix + suffix <= Math.min(oldText.length, newText.length),
        `prefix ${prefix} and suffix ${suffix} overlap in ${JSON.stringify([oldText, newText])}`);
    return {
        prefix,
        suffix,
        deleted: oldText.slice(prefix, oldText.length - suffix),
        inserted: newText.slice(prefix, newText.length - suffix),
    };
}

/** The code units of a string in hex, to make messages about surrogates readable. */
function units(text) {
    return Array.from({ length: text.length }, (_, index) => text.charCodeAt(index).toString(16).padStart(4, '0')).join(' ');
}

function assertWholeCharacters(text, what, context) {
    assert.ok(text.isWellFormed(), `${what} has a lone surrogate (${units(text)}) for ${JSON.stringify(context)}`);
}

test('an emoji replaced by another is shown whole, not as its low surrogates', () => {
    // 😀 is D83D DE00 and 😁 is D83D DE01: they share their first code unit.
    const parts = changedParts('😀', '😁');
    assert.deepEqual(parts, { prefix: 0, suffix: 0, deleted: '😀', inserted: '😁' });
});

test('the trim keeps the unchanged text around an astral character', () => {
    assert.deepEqual(changedParts('let face = "😀";', 'let face = "😁";'),
        { prefix: 12, suffix: 2, deleted: '😀', inserted: '😁' });
    // Same character before and after the changed one: only the middle one changes.
    assert.deepEqual(changedParts('😀😀😀', '😀😁😀'), { prefix: 2, suffix: 2, deleted: '😀', inserted: '😁' });
});

test('characters that share their second code unit are not split at the end either', () => {
    // 😀 is D83D DE00 and 𐘀 (U+10600) is D801 DE00: the same low surrogate, then "!".
    assert.deepEqual(changedParts('😀!', '𐘀!'), { prefix: 0, suffix: 1, deleted: '😀', inserted: '𐘀' });
    assert.deepEqual(changedParts('x = 𐘀', 'x = 😀'), { prefix: 4, suffix: 0, deleted: '𐘀', inserted: '😀' });
});

test('an astral character inserted or deleted next to another is whole', () => {
    assert.deepEqual(changedParts('😀😀', '😀😁😀'), { prefix: 2, suffix: 2, deleted: '', inserted: '😁' });
    assert.deepEqual(changedParts('😀😁😀', '😀😀'), { prefix: 2, suffix: 2, deleted: '😁', inserted: '' });
    assert.deepEqual(changedParts('a😀', 'a😀😀'), { prefix: 3, suffix: 0, deleted: '', inserted: '😀' });
});

test('text without astral characters is trimmed to the differing code units', () => {
    assert.deepEqual(changedParts('    count += value', '    total += value'),
        { prefix: 4, suffix: 9, deleted: 'count', inserted: 'total' });
    assert.deepEqual(changedParts('café', 'cafe'), { prefix: 3, suffix: 0, deleted: 'é', inserted: 'e' });
    assert.deepEqual(changedParts('f(a)', 'f(a, b)'), { prefix: 3, suffix: 1, deleted: '', inserted: ', b' });
    assert.deepEqual(changedParts('', 'x'), { prefix: 0, suffix: 0, deleted: '', inserted: 'x' });
});

test('for any texts, the trim is whole code points, minimal, and gives back both texts', () => {
    // A small alphabet with astral characters that share high or low surrogates, so that random
    // pairs of texts hit every way a pair can be split.
    const alphabet = ['a', 'b', 'é', '\n', '😀', '😁', '𐘀', '𐘁', '👍', '🏽'];
    let seed = 12345;
    const random = limit => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % limit;
    };
    const randomText = () => Array.from({ length: random(7) }, () => alphabet[random(alphabet.length)]).join('');
    for (let round = 0; round < 20000; round++) {
        const oldText = randomText();
        const newText = random(4) === 0 ? oldText : randomText();
        const context = [oldText, newText];
        const { prefix, suffix, deleted, inserted } = changedParts(oldText, newText);
        const before = oldText.slice(0, prefix);
        const after = oldText.slice(oldText.length - suffix);
        assert.equal(before + deleted + after, oldText);
        assert.equal(newText.slice(0, prefix) + inserted + newText.slice(newText.length - suffix), newText);
        assert.equal(newText.slice(0, prefix), before);
        assert.equal(newText.slice(newText.length - suffix), after);
        for (const [what, text] of [['the deleted text', deleted], ['the inserted text', inserted],
            ['the common start', before], ['the common end', after]]) {
            assertWholeCharacters(text, what, context);
        }
        if (oldText === newText) {
            assert.equal(deleted, '');
            assert.equal(inserted, '');
        }
        // Minimal: when both parts have a character, they differ in their first and in their last.
        const deletedPoints = [...deleted];
        const insertedPoints = [...inserted];
        if (deletedPoints.length > 0 && insertedPoints.length > 0) {
            assert.notEqual(deletedPoints[0], insertedPoints[0], `the first character is common: ${JSON.stringify(context)}`);
            assert.notEqual(deletedPoints.at(-1), insertedPoints.at(-1), `the last character is common: ${JSON.stringify(context)}`);
        }
    }
});
