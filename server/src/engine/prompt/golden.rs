//! Golden prompts of every format for the situations that tell a faithful format from a sloppy
//! one: several history events (one in another file), a line inserted above the window, no
//! history, a region at the start and at the end of the file, and a document that contains a
//! special token. Each format's module also checks its layout against a prompt written out from
//! its reference.

use expect_test::{Expect, expect};

use super::test_support::{context, count_tokens};
use super::*;
use crate::engine::context::{HistoryEvent, PreviousText};

fn event(path: &str, diff: &str) -> HistoryEvent {
    let side = |keep: char| {
        diff.lines()
            .filter(|line| !line.starts_with("@@") && !line.starts_with(keep))
            .map(|line| format!("{}\n", line.get(1..).unwrap_or("")))
            .collect::<String>()
    };
    HistoryEvent {
        path: path.to_owned(),
        old_text: side('+'),
        new_text: side('-'),
        unified_diff: diff.to_owned(),
    }
}

const CIRCLE: &str = "\
import math


class Circle:
    def __init__(self, radius):
        self.radius = radius

    def area(self):
        return math.pi * self.radius ** 2

    def circumference(self):
        return 2 * math.pi * self.r$0
";

/// Two earlier edits (one in another file) and a latest one on the line above the cursor's
/// function, all in a file under `pkg/`.
fn several_events() -> PredictionContext {
    let mut ctx = context(
        CIRCLE,
        1,
        vec![
            event(
                "pkg/util.py",
                "@@ -1,2 +1,2 @@\n-def clamp(x):\n+def clamp(x, low, high):\n     return x\n",
            ),
            event(
                "pkg/shapes.py",
                "@@ -4,3 +4,3 @@\n class Circle:\n-    def __init__(self, r):\n-        self.r = r\n+    def __init__(self, radius):\n+        self.radius = radius\n",
            ),
            event(
                "pkg/shapes.py",
                "@@ -8,2 +8,2 @@\n     def area(self):\n-        return math.pi * self.r ** 2\n+        return math.pi * self.radius ** 2\n",
            ),
        ],
    );
    ctx.path = "pkg/shapes.py".to_owned();
    ctx.previous = Some(PreviousText {
        text: ctx.text.replace("self.radius ** 2", "self.r ** 2"),
        before_lines: 8..9,
        after_lines: 8..9,
    });
    ctx
}

/// Every format's prompt for `ctx` (the plain format without its fixed few-shot header), or why
/// there is none.
fn render_all(ctx: &PredictionContext) -> String {
    let mut rendered = String::new();
    for kind in PromptFormatKind::ALL {
        let format = format_with_style(kind, None);
        rendered.push_str(&format!("=== {kind}\n"));
        match format.build(ctx, &count_tokens, &PromptBudget::default()) {
            Ok(built) => {
                let prompt = match kind {
                    PromptFormatKind::Plain => {
                        let start = built.prompt.find("[[CHANGE]]\n-    let w").unwrap_or(0);
                        let start =
                            built.prompt[start..].find("[[END]]\n\n[[CHANGE]]").map_or(0, |_| {
                                built.prompt.rfind("[[END]]\n\n").unwrap_or(0) + "[[END]]\n\n".len()
                            });
                        &built.prompt[start..]
                    }
                    PromptFormatKind::Instinct => {
                        &built.prompt[built.prompt.find("<|im_start|>user").unwrap_or(0)..]
                    }
                    _ => &built.prompt,
                };
                rendered.push_str(prompt);
                rendered.push_str(&format!("\n=== stop {:?}\n", built.stop));
            }
            Err(error) => rendered.push_str(&format!("error: {error}\n")),
        }
    }
    rendered
}

fn check(ctx: &PredictionContext, expected: Expect) {
    expected.assert_eq(&render_all(ctx));
}

#[test]
fn several_history_events() {
    check(
        &several_events(),
        expect![[r#"
            === sweep
            <|file_sep|>pkg/util.py.diff
            original:
            def clamp(x):
                return x
            updated:
            def clamp(x, low, high):
                return x
            <|file_sep|>pkg/shapes.py.diff
            original:
            class Circle:
                def __init__(self, r):
                    self.r = r
            updated:
            class Circle:
                def __init__(self, radius):
                    self.radius = radius
            <|file_sep|>pkg/shapes.py.diff
            original:
                def area(self):
                    return math.pi * self.r ** 2
            updated:
                def area(self):
                    return math.pi * self.radius ** 2
            <|file_sep|>original/pkg/shapes.py


            class Circle:
                def __init__(self, radius):
                    self.radius = radius

                def area(self):
                    return math.pi * self.r ** 2

                def circumference(self):
                    return 2 * math.pi * self.r
            <|file_sep|>current/pkg/shapes.py


            class Circle:
                def __init__(self, radius):
                    self.radius = radius

                def area(self):
                    return math.pi * self.radius ** 2

                def circumference(self):
                    return 2 * math.pi * self.r
            <|file_sep|>updated/pkg/shapes.py

            === stop ["<|file_sep|>", "</s>", "<|endoftext|>"]
            === zeta
            ### Instruction:
            You are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.

            ### User Edits:

            User edited "pkg/util.py":
            ```diff
            @@ -1,2 +1,2 @@
            -def clamp(x):
            +def clamp(x, low, high):
                 return x

            ```

            User edited "pkg/shapes.py":
            ```diff
            @@ -4,3 +4,3 @@
             class Circle:
            -    def __init__(self, r):
            -        self.r = r
            +    def __init__(self, radius):
            +        self.radius = radius

            ```

            User edited "pkg/shapes.py":
            ```diff
            @@ -8,2 +8,2 @@
                 def area(self):
            -        return math.pi * self.r ** 2
            +        return math.pi * self.radius ** 2

            ```

            ### User Excerpt:

            ```pkg/shapes.py
            <|start_of_file|>
            import math


            class Circle:
                def __init__(self, radius):
                    self.radius = radius

                def area(self):
                    return math.pi * self.radius ** 2

            <|editable_region_start|>
                def circumference(self):
                    return 2 * math.pi * self.r<|user_cursor_is_here|>
            <|editable_region_end|>
            ```

            ### Response:

            === stop ["<|editable_region_end|>"]
            === zeta2
            <[fim-suffix]>
            <[fim-prefix]><filename>edit_history
            --- a/pkg/util.py
            +++ b/pkg/util.py
            @@ -1,2 +1,2 @@
            -def clamp(x):
            +def clamp(x, low, high):
                 return x
            --- a/pkg/shapes.py
            +++ b/pkg/shapes.py
            @@ -4,3 +4,3 @@
             class Circle:
            -    def __init__(self, r):
            -        self.r = r
            +    def __init__(self, radius):
            +        self.radius = radius
            --- a/pkg/shapes.py
            +++ b/pkg/shapes.py
            @@ -8,2 +8,2 @@
                 def area(self):
            -        return math.pi * self.r ** 2
            +        return math.pi * self.radius ** 2

            <filename>pkg/shapes.py
            import math


            class Circle:
                def __init__(self, radius):
                    self.radius = radius

                def area(self):
                    return math.pi * self.radius ** 2

            <<<<<<< CURRENT
                def circumference(self):
                    return 2 * math.pi * self.r<|user_cursor|>
            =======
            <[fim-middle]>
            === stop [">>>>>>> UPDATED", "<[end▁of▁sentence]>"]
            === instinct
            <|im_start|>user
            Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.

            ### Context:




            ### User Edits:

            User edited file "pkg/shapes.py"

            ```diff
            @@ -8,2 +8,2 @@
                 def area(self):
            -        return math.pi * self.r ** 2
            +        return math.pi * self.radius ** 2
            ```

            User edited file "pkg/shapes.py"

            ```diff
            @@ -4,3 +4,3 @@
             class Circle:
            -    def __init__(self, r):
            -        self.r = r
            +    def __init__(self, radius):
            +        self.radius = radius
            ```

            User edited file "pkg/util.py"

            ```diff
            @@ -1,2 +1,2 @@
            -def clamp(x):
            +def clamp(x, low, high):
                 return x
            ```

            ### User Excerpt:
            "pkg/shapes.py"

            import math


            class Circle:
                def __init__(self, radius):
                    self.radius = radius

                def area(self):
                    return math.pi * self.radius ** 2

            <|editable_region_start|>
                def circumference(self):
                    return 2 * math.pi * self.r<|user_cursor_is_here|>
            <|editable_region_end|><|im_end|>
            <|im_start|>assistant

            === stop ["<|im_end|>", "<|endoftext|>"]
            === fim
            <|fim_prefix|>import math


            class Circle:
                def __init__(self, radius):
                    self.radius = radius

                def area(self):
                    return math.pi * self.radius ** 2

                def circumference(self):
                    return 2 * math.pi * self.r<|fim_suffix|>
            <|fim_middle|>
            === stop ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|repo_name|>"]
            === plain
            [[CHANGE]]
            -def clamp(x):
            -    return x
            +def clamp(x, low, high):
            +    return x
            -class Circle:
            -    def __init__(self, r):
            -        self.r = r
            +class Circle:
            +    def __init__(self, radius):
            +        self.radius = radius
            -    def area(self):
            -        return math.pi * self.r ** 2
            +    def area(self):
            +        return math.pi * self.radius ** 2
            [[CONTEXT]]
                    self.radius = radius

                def area(self):
                    return math.pi * self.radius ** 2

                def circumference(self):
            [[REGION]]
                    return 2 * math.pi * self.r
            [[NEXT]]

            === stop ["[[END]]"]
        "#]],
    );
}

#[test]
fn a_line_inserted_above_the_window_shows_no_change_in_the_window() {
    let mut lines: Vec<String> =
        (0..30).map(|index| format!("value_{index} = {index}\n")).collect();
    lines.insert(1, "import os\n".to_owned());
    let before: String = lines
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != 1)
        .map(|(_, line)| line.as_str())
        .collect();
    let mut fixture: String = lines.concat();
    fixture = fixture.replacen("value_25 = 25", "value_25 = 25$0", 1);
    let mut ctx = context(
        &fixture,
        1,
        vec![event("pkg/values.py", "@@ -1,2 +1,3 @@\n value_0 = 0\n+import os\n value_1 = 1\n")],
    );
    ctx.path = "pkg/values.py".to_owned();
    ctx.previous = Some(PreviousText { text: before, before_lines: 1..1, after_lines: 1..2 });
    let built = SweepFormat.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
    let window = |name: &str| {
        let start = built.prompt.find(&format!("<|file_sep|>{name}/pkg/values.py\n")).unwrap();
        let rest = &built.prompt[start..];
        let body = &rest[rest.find('\n').unwrap() + 1..];
        body[..body.find("<|file_sep|>").unwrap()].to_owned()
    };
    assert_eq!(window("original"), window("current"));
    assert!(window("current").starts_with("value_15 = 15\n"), "{}", built.prompt);
}

#[test]
fn empty_history() {
    let mut ctx = several_events();
    ctx.events.clear();
    ctx.previous = None;
    check(
        &ctx,
        expect![[r#"
        === sweep
        <|file_sep|>original/pkg/shapes.py


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|file_sep|>current/pkg/shapes.py


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|file_sep|>updated/pkg/shapes.py

        === stop ["<|file_sep|>", "</s>", "<|endoftext|>"]
        === zeta
        ### Instruction:
        You are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.

        ### User Edits:



        ### User Excerpt:

        ```pkg/shapes.py
        <|start_of_file|>
        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <|editable_region_start|>
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor_is_here|>
        <|editable_region_end|>
        ```

        ### Response:

        === stop ["<|editable_region_end|>"]
        === zeta2
        <[fim-suffix]>
        <[fim-prefix]><filename>pkg/shapes.py
        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <<<<<<< CURRENT
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor|>
        =======
        <[fim-middle]>
        === stop [">>>>>>> UPDATED", "<[end▁of▁sentence]>"]
        === instinct
        <|im_start|>user
        Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.

        ### Context:




        ### User Edits:

        ### User Excerpt:
        "pkg/shapes.py"

        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <|editable_region_start|>
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor_is_here|>
        <|editable_region_end|><|im_end|>
        <|im_start|>assistant

        === stop ["<|im_end|>", "<|endoftext|>"]
        === fim
        <|fim_prefix|>import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r<|fim_suffix|>
        <|fim_middle|>
        === stop ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|repo_name|>"]
        === plain
        [[CHANGE]]
        [[CONTEXT]]
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
        [[REGION]]
                return 2 * math.pi * self.r
        [[NEXT]]

        === stop ["[[END]]"]
    "#]],
    );
}

#[test]
fn region_at_the_start_of_the_file() {
    let fixture = CIRCLE.replace("$0", "").replacen("import math", "import m$0ath", 1);
    let mut ctx = context(&fixture, 1, Vec::new());
    ctx.path = "pkg/shapes.py".to_owned();
    check(
        &ctx,
        expect![[r#"
        === sweep
        <|file_sep|>original/pkg/shapes.py
        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
        <|file_sep|>current/pkg/shapes.py
        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
        <|file_sep|>updated/pkg/shapes.py

        === stop ["<|file_sep|>", "</s>", "<|endoftext|>"]
        === zeta
        ### Instruction:
        You are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.

        ### User Edits:



        ### User Excerpt:

        ```pkg/shapes.py
        <|start_of_file|>
        <|editable_region_start|>
        import m<|user_cursor_is_here|>ath

        <|editable_region_end|>

        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        ```

        ### Response:

        === stop ["<|editable_region_end|>"]
        === zeta2
        <[fim-suffix]>

        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <[fim-prefix]><filename>pkg/shapes.py
        <<<<<<< CURRENT
        import m<|user_cursor|>ath

        =======
        <[fim-middle]>
        === stop [">>>>>>> UPDATED", "<[end▁of▁sentence]>"]
        === instinct
        <|im_start|>user
        Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.

        ### Context:




        ### User Edits:

        ### User Excerpt:
        "pkg/shapes.py"

        <|editable_region_start|>
        import m<|user_cursor_is_here|>ath


        class Circle:
            def __init__(self, radius):
                self.radius = radius
        <|editable_region_end|>

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r<|im_end|>
        <|im_start|>assistant

        === stop ["<|im_end|>", "<|endoftext|>"]
        === fim
        <|fim_prefix|>import m<|fim_suffix|>ath


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|fim_middle|>
        === stop ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|repo_name|>"]
        === plain
        [[CHANGE]]
        [[CONTEXT]]
        [[REGION]]
        import math


        [[NEXT]]

        === stop ["[[END]]"]
    "#]],
    );
}

#[test]
fn region_at_the_end_of_a_file_without_a_final_line_break() {
    let fixture = CIRCLE.trim_end().to_owned();
    let mut ctx = context(&fixture, 1, Vec::new());
    ctx.path = "pkg/shapes.py".to_owned();
    check(
        &ctx,
        expect![[r#"
        === sweep
        <|file_sep|>original/pkg/shapes.py


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|file_sep|>current/pkg/shapes.py


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|file_sep|>updated/pkg/shapes.py

        === stop ["<|file_sep|>", "</s>", "<|endoftext|>"]
        === zeta
        ### Instruction:
        You are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.

        ### User Edits:



        ### User Excerpt:

        ```pkg/shapes.py
        <|start_of_file|>
        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <|editable_region_start|>
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor_is_here|>
        <|editable_region_end|>
        ```

        ### Response:

        === stop ["<|editable_region_end|>"]
        === zeta2
        <[fim-suffix]>
        <[fim-prefix]><filename>pkg/shapes.py
        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <<<<<<< CURRENT
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor|>
        =======
        <[fim-middle]>
        === stop [">>>>>>> UPDATED", "<[end▁of▁sentence]>"]
        === instinct
        <|im_start|>user
        Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.

        ### Context:




        ### User Edits:

        ### User Excerpt:
        "pkg/shapes.py"

        import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <|editable_region_start|>
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor_is_here|>
        <|editable_region_end|><|im_end|>
        <|im_start|>assistant

        === stop ["<|im_end|>", "<|endoftext|>"]
        === fim
        <|fim_prefix|>import math


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r<|fim_suffix|><|fim_middle|>
        === stop ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|repo_name|>"]
        === plain
        [[CHANGE]]
        [[CONTEXT]]
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
        [[REGION]]
                return 2 * math.pi * self.r
        [[NEXT]]

        === stop ["[[END]]"]
    "#]],
    );
}

#[test]
fn a_document_with_a_special_token() {
    // Outside every region the token is defanged; inside, the formats refuse the region.
    let fixture = CIRCLE.replace("import math", "import math  # <|im_end|> <|file_sep|>");
    let mut ctx = context(&fixture, 1, Vec::new());
    ctx.path = "pkg/shapes.py".to_owned();
    check(
        &ctx,
        expect![[r#"
        === sweep
        <|file_sep|>original/pkg/shapes.py


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|file_sep|>current/pkg/shapes.py


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r
        <|file_sep|>updated/pkg/shapes.py

        === stop ["<|file_sep|>", "</s>", "<|endoftext|>"]
        === zeta
        ### Instruction:
        You are a code completion assistant and your task is to analyze user edits and then rewrite an excerpt that the user provides, suggesting the appropriate edits within the excerpt, taking into account the cursor location.

        ### User Edits:



        ### User Excerpt:

        ```pkg/shapes.py
        <|start_of_file|>
        import math  # < |im_end|> < |file_sep|>


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <|editable_region_start|>
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor_is_here|>
        <|editable_region_end|>
        ```

        ### Response:

        === stop ["<|editable_region_end|>"]
        === zeta2
        <[fim-suffix]>
        <[fim-prefix]><filename>pkg/shapes.py
        import math  # < |im_end|> < |file_sep|>


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <<<<<<< CURRENT
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor|>
        =======
        <[fim-middle]>
        === stop [">>>>>>> UPDATED", "<[end▁of▁sentence]>"]
        === instinct
        <|im_start|>user
        Reference the user excerpt, user edits, and the snippets to understand the developer's intent. Update the editable region of the user excerpt by predicting and completing the changes they would have made next. This may be a deletion, addition, or modification of code.

        ### Context:




        ### User Edits:

        ### User Excerpt:
        "pkg/shapes.py"

        import math  # < |im_end|> < |file_sep|>


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

        <|editable_region_start|>
            def circumference(self):
                return 2 * math.pi * self.r<|user_cursor_is_here|>
        <|editable_region_end|><|im_end|>
        <|im_start|>assistant

        === stop ["<|im_end|>", "<|endoftext|>"]
        === fim
        <|fim_prefix|>import math  # < |im_end|> < |file_sep|>


        class Circle:
            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
                return 2 * math.pi * self.r<|fim_suffix|>
        <|fim_middle|>
        === stop ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|repo_name|>"]
        === plain
        [[CHANGE]]
        [[CONTEXT]]
                self.radius = radius

            def area(self):
                return math.pi * self.radius ** 2

            def circumference(self):
        [[REGION]]
                return 2 * math.pi * self.r
        [[NEXT]]

        === stop ["[[END]]"]
    "#]],
    );
    let inside = CIRCLE.replace("self.r$0", "self.r  # <|file_sep|>$0");
    let ctx = context(&inside, 1, Vec::new());
    let refused: Vec<String> = PromptFormatKind::ALL
        .into_iter()
        .filter(|kind| *kind != PromptFormatKind::Fim)
        .map(|kind| {
            match format_with_style(kind, None).build(&ctx, &count_tokens, &PromptBudget::default())
            {
                Ok(_) => format!("{kind}: built"),
                Err(error) => format!("{kind}: {error}"),
            }
        })
        .collect();
    expect![[r#"
        [
            "sweep: the editable region contains the reserved token <|file_sep|>",
            "zeta: the editable region contains the reserved token <|file_sep|>",
            "zeta2: the editable region contains the reserved token <|file_sep|>",
            "instinct: the editable region contains the reserved token <|file_sep|>",
            "plain: the editable region contains the reserved token <|file_sep|>",
        ]
    "#]]
    .assert_debug_eq(&refused);
}

/// Every format reads its own answer back: `parse(answer(new))` is `new`, for the unchanged
/// region (where the answer is the draft), a changed line, a line added at the end and a region
/// that loses its last line. The window formats answer in whole lines, so the region keeps its
/// own final line break.
#[test]
fn every_format_reads_its_own_answer_back() {
    let mut failures = Vec::new();
    for source in [CIRCLE, CIRCLE.trim_end()] {
        let ctx = context(source, 1, Vec::new());
        for kind in PromptFormatKind::ALL {
            let format = format_with_style(kind, None);
            let built = format.build(&ctx, &count_tokens, &PromptBudget::default()).unwrap();
            let region = built.region_text.clone();
            let mut variants = vec![
                region.replace("self.r", "self.radius"),
                format!("{region}    # done\n"),
                format!("{region}extra"),
            ];
            if kind == PromptFormatKind::Fim {
                assert!(built.draft.is_empty());
                variants.push(" * 1.0".to_owned());
            } else {
                assert_eq!(format.answer(&region, &built), built.draft, "{kind}");
                variants.push(region.clone());
                if let Some((kept, _)) = region.trim_end().rsplit_once('\n') {
                    variants.push(format!("{kept}\n"));
                }
            }
            for new in variants {
                let answer = format.answer(&new, &built);
                let mut expected = new.trim_end_matches('\n').to_owned();
                if kind == PromptFormatKind::Fim || region.ends_with('\n') {
                    expected = new.clone();
                }
                if kind != PromptFormatKind::Fim && region.ends_with('\n') && !new.ends_with('\n') {
                    expected.push('\n');
                }
                match format.parse(&answer, &built) {
                    Ok(parsed) if parsed == expected => {}
                    other => failures.push(format!("{kind}: {new:?} -> {answer:?} -> {other:?}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
