; Scopes: Go opens a block for the file, every function and function literal, every braced
; block, and an implicit one for each if, for and switch statement and each case clause.

[
  (source_file)
  (function_declaration)
  (method_declaration)
  (func_literal)
  (block)
  (if_statement)
  (for_statement)
  (expression_switch_statement)
  (type_switch_statement)
  (expression_case)
  (type_case)
  (default_case)
  (communication_case)
] @local.scope

; Definitions: declared variables and constants, parameters and receivers, and the names that
; `:=` introduces (assignments with `=` are references).

(var_spec name: (identifier) @local.definition)
(const_spec name: (identifier) @local.definition)
(parameter_declaration name: (identifier) @local.definition)
(variadic_parameter_declaration name: (identifier) @local.definition)
(short_var_declaration left: (expression_list (identifier) @local.definition))
(range_clause left: (expression_list (identifier) @local.definition) ":=")
(receive_statement left: (expression_list (identifier) @local.definition) ":=")
(type_switch_statement alias: (expression_list (identifier) @local.definition))

; References: every other plain identifier.

(identifier) @local.reference
