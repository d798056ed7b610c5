package executor

// stringBuiltins are the string functions.
var stringBuiltins = map[string][]builtin{}
