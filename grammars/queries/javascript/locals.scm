; Scopes: functions, blocks and loops with their own bindings.

[
  (program)
  (statement_block)
  (function_declaration)
  (function_expression)
  (generator_function)
  (generator_function_declaration)
  (arrow_function)
  (method_definition)
  (for_statement)
  (for_in_statement)
  (catch_clause)
  (class_body)
] @local.scope

; Definitions: declarators, parameters and destructuring targets.

(variable_declarator name: (identifier) @local.definition)
(formal_parameters (identifier) @local.definition)
(assignment_pattern left: (identifier) @local.definition)
(arrow_function parameter: (identifier) @local.definition)
(catch_clause parameter: (identifier) @local.definition)
(for_in_statement left: (identifier) @local.definition)
(array_pattern (identifier) @local.definition)
(object_pattern (shorthand_property_identifier_pattern) @local.definition)

; References: every other identifier.

(identifier) @local.reference
