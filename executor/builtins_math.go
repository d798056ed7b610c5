package executor

// mathBuiltins are the mathematical functions.
var mathBuiltins = map[string][]builtin{}
