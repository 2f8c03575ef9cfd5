#!/usr/bin/env python3
"""Turns a terminal screen captured with `tmux capture-pane -e -p` into an HTML page.

Usage: screen_to_html.py SCREEN.ansi OUT.html [TITLE]

Chromium then renders the page to a PNG, so a terminal editor's screen can be shown as a picture.
Handles the SGR attributes tmux emits: bold, italic, underline, reverse, strikethrough, and
16, 256 and 24-bit colours.
"""
import html
import re
import sys

BASIC_COLORS = [
    "#1e1e1e", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
]
DEFAULT_FOREGROUND = "#d4d4d4"
DEFAULT_BACKGROUND = "#1e1e1e"


def color_256(index):
    if index < 16:
        return BASIC_COLORS[index]
    if index < 232:
        index -= 16
        levels = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (levels[index // 36], levels[(index // 6) % 6], levels[index % 6])
    gray = 8 + (index - 232) * 10
    return "#%02x%02x%02x" % (gray, gray, gray)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.foreground = None
        self.background = None
        self.bold = self.italic = self.underline = self.reverse = self.strike = False

    def apply(self, codes):
        codes = codes or [0]
        index = 0
        while index < len(codes):
            code = codes[index]
            if code == 0:
                self.reset()
            elif code == 1:
                self.bold = True
            elif code == 3:
                self.italic = True
            elif code == 4:
                self.underline = True
            elif code == 7:
                self.reverse = True
            elif code == 9:
                self.strike = True
            elif code == 22:
                self.bold = False
            elif code == 23:
                self.italic = False
            elif code == 24:
                self.underline = False
            elif code == 27:
                self.reverse = False
            elif code == 29:
                self.strike = False
            elif 30 <= code <= 37:
                self.foreground = BASIC_COLORS[code - 30]
            elif 90 <= code <= 97:
                self.foreground = BASIC_COLORS[code - 90 + 8]
            elif 40 <= code <= 47:
                self.background = BASIC_COLORS[code - 40]
            elif 100 <= code <= 107:
                self.background = BASIC_COLORS[code - 100 + 8]
            elif code == 39:
                self.foreground = None
            elif code == 49:
                self.background = None
            elif code in (38, 48) and index + 1 < len(codes):
                if codes[index + 1] == 5 and index + 2 < len(codes):
                    value = color_256(codes[index + 2])
                    index += 2
                elif codes[index + 1] == 2 and index + 4 < len(codes):
                    value = "#%02x%02x%02x" % tuple(codes[index + 2:index + 5])
                    index += 4
                else:
                    value = None
                if code == 38:
                    self.foreground = value
                else:
                    self.background = value
            index += 1

    def css(self):
        foreground = self.foreground or DEFAULT_FOREGROUND
        background = self.background or DEFAULT_BACKGROUND
        if self.reverse:
            foreground, background = background, foreground
        parts = ["color:%s" % foreground, "background:%s" % background]
        if self.bold:
            parts.append("font-weight:bold")
        if self.italic:
            parts.append("font-style:italic")
        decorations = [name for name, on in (("underline", self.underline), ("line-through", self.strike)) if on]
        if decorations:
            parts.append("text-decoration:" + " ".join(decorations))
        return ";".join(parts)


def to_html(screen, title):
    style = Style()
    lines = []
    for line in screen.rstrip("\n").split("\n"):
        out = []
        for token in re.split(r"(\x1b\[[0-9;:]*m)", line):
            match = re.fullmatch(r"\x1b\[([0-9;:]*)m", token)
            if match:
                style.apply([int(code) for code in re.split(r"[;:]", match.group(1)) if code != ""])
            elif token:
                out.append('<span style="%s">%s</span>' % (style.css(), html.escape(token)))
        lines.append("".join(out) or " ")
    return (
        "<!doctype html><meta charset=utf-8><title>%s</title>"
        "<style>body{margin:0;background:%s}"
        "pre{margin:0;padding:8px;font:15px/1.25 'DejaVu Sans Mono',monospace;color:%s}</style>"
        "<pre>%s</pre>" % (html.escape(title), DEFAULT_BACKGROUND, DEFAULT_FOREGROUND, "\n".join(lines))
    )


def main():
    screen = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    title = sys.argv[3] if len(sys.argv) > 3 else "screen"
    with open(sys.argv[2], "w", encoding="utf-8") as output:
        output.write(to_html(screen, title))


if __name__ == "__main__":
    main()
