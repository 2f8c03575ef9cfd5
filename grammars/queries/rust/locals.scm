; Scopes: the nodes whose bindings are invisible outside them.

[
  (source_file)
  (function_item)
  (closure_expression)
  (impl_item)
  (trait_item)
  (mod_item)
  (block)
  (match_arm)
  (for_expression)
  (if_expression)
  (while_expression)
] @local.scope

; Definitions: names that a binding introduces.

(let_declaration pattern: (identifier) @local.definition)
(let_condition pattern: (identifier) @local.definition)
(parameter pattern: (identifier) @local.definition)
(closure_parameters (identifier) @local.definition)
(for_expression pattern: (identifier) @local.definition)
(mut_pattern (identifier) @local.definition)
(ref_pattern (identifier) @local.definition)
(tuple_pattern (identifier) @local.definition)
(tuple_struct_pattern (identifier) @local.definition)
(field_pattern name: (shorthand_field_identifier) @local.definition)
(match_pattern (identifier) @local.definition)

; References: every other plain identifier.

(identifier) @local.reference
