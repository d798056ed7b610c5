package executor

import "strings"

// checkPrinter prints a typed CHECK condition. Without pretty, every
// operator, test and boolean expression is in parentheses of its own, as
// PostgreSQL prints them. With pretty, a node gets parentheses only where
// its parent needs them. Both forms start each CASE keyword on a line of
// its own, indented by nesting depth.
type checkPrinter struct {
	b      strings.Builder
	pretty bool
	indent int
}

func deparseCheckNode(n *ckNode, pretty bool) string {
	p := &checkPrinter{pretty: pretty}
	p.node(n)
	return p.b.String()
}

// keyword starts a new line at the current indentation with word,
// dropping the spaces that end the current line.
func (p *checkPrinter) keyword(word string) {
	text := strings.TrimRight(p.b.String(), " ")
	p.b.Reset()
	p.b.WriteString(text)
	p.b.WriteString("\n" + strings.Repeat(" ", p.indent) + word)
}

func (p *checkPrinter) node(n *ckNode) {
	own := !p.pretty && ownParens(n)
	if own {
		p.b.WriteByte('(')
	}
	switch n.kind {
	case ckVar:
		p.b.WriteString(n.text)
	case ckConst:
		p.constant(n)
	case ckOp:
		if len(n.args) == 1 {
			p.b.WriteString(n.text + " ")
			p.child(n.args[0], n)
			break
		}
		p.child(n.args[0], n)
		p.b.WriteString(" " + n.text + " ")
		p.child(n.args[1], n)
	case ckFunc, ckCoalesce:
		switch {
		case n.kind == ckCoalesce:
			p.b.WriteString("COALESCE")
		case n.text == "NULLIF":
			p.b.WriteString(n.text)
		default:
			p.b.WriteString(quoteIdentIfNeeded(n.text))
		}
		p.list("(", n.args, n, ")")
	case ckSQLFunc:
		p.sqlSyntaxCall(n)
	case ckCast:
		if !p.pretty {
			p.b.WriteByte('(')
		}
		p.child(n.args[0], n)
		if !p.pretty {
			p.b.WriteByte(')')
		}
		p.b.WriteString("::" + checkTypeName(n.typ))
	case ckAnd, ckOr:
		p.list("", n.args, n, "")
	case ckNot:
		p.b.WriteString("NOT ")
		p.child(n.args[0], n)
	case ckTest:
		p.child(n.args[0], n)
		p.b.WriteString(n.text)
	case ckDistinct:
		p.child(n.args[0], n)
		p.b.WriteString(" IS DISTINCT FROM ")
		p.child(n.args[1], n)
	case ckArrayOp:
		p.child(n.args[0], n)
		quantifier := " ANY ("
		if n.all {
			quantifier = " ALL ("
		}
		p.b.WriteString(" " + n.text + quantifier)
		p.child(n.args[1], n)
		p.b.WriteByte(')')
	case ckArray:
		p.list("ARRAY[", n.args, n, "]")
	case ckCase:
		p.caseExpr(n)
	}
	if own {
		p.b.WriteByte(')')
	}
}

// list prints args between open and close, separated by commas, or for
// AND and OR by the operator.
func (p *checkPrinter) list(open string, args []*ckNode, parent *ckNode, close string) {
	sep := ", "
	switch parent.kind {
	case ckAnd:
		sep = " AND "
	case ckOr:
		sep = " OR "
	}
	p.b.WriteString(open)
	for i, a := range args {
		if i > 0 {
			p.b.WriteString(sep)
		}
		p.child(a, parent)
	}
	p.b.WriteString(close)
}

// caseExpr prints CASE with each WHEN, the ELSE and the END on a line of
// its own, the WHEN and ELSE lines indented by four more spaces.
func (p *checkPrinter) caseExpr(n *ckNode) {
	p.keyword("CASE")
	if n.caseArg != nil {
		p.b.WriteByte(' ')
		p.child(n.caseArg, n)
	}
	p.indent += 4
	last := len(n.args) - 1
	for i := 0; i < last; i += 2 {
		p.keyword("WHEN ")
		p.child(n.args[i], n)
		p.b.WriteString(" THEN ")
		p.child(n.args[i+1], n)
	}
	p.keyword("ELSE ")
	p.child(n.args[last], n)
	p.indent -= 4
	p.keyword("END")
}

// sqlSyntaxCall prints a function called with SQL syntax the way the
// grammar spells it. Its arguments are printed without the implicit casts
// that resolution added.
func (p *checkPrinter) sqlSyntaxCall(n *ckNode) {
	args := make([]*ckNode, len(n.args))
	for i, a := range n.args {
		for a.kind == ckCast && !a.explicit {
			a = a.args[0]
		}
		args[i] = a
	}
	switch n.text {
	case "btrim", "ltrim", "rtrim":
		where := map[string]string{"btrim": "BOTH", "ltrim": "LEADING", "rtrim": "TRAILING"}[n.text]
		p.b.WriteString("TRIM(" + where + " ")
		if len(args) == 2 {
			p.child(args[1], n)
			p.b.WriteByte(' ')
		}
		p.b.WriteString("FROM ")
		p.child(args[0], n)
		p.b.WriteByte(')')
	case "substring":
		p.b.WriteString("SUBSTRING(")
		p.child(args[0], n)
		p.b.WriteString(" FROM ")
		p.child(args[1], n)
		if len(args) == 3 {
			p.b.WriteString(" FOR ")
			p.child(args[2], n)
		}
		p.b.WriteByte(')')
	case "position":
		// POSITION(a IN b) calls position(b, a).
		p.b.WriteString("POSITION((")
		p.child(args[1], n)
		p.b.WriteString(") IN (")
		p.child(args[0], n)
		p.b.WriteString("))")
	}
}

// ownParens reports whether PostgreSQL puts n in parentheses of its own
// outside pretty mode.
func ownParens(n *ckNode) bool {
	switch n.kind {
	case ckOp, ckAnd, ckOr, ckNot, ckTest, ckDistinct, ckArrayOp:
		return true
	}
	return false
}

// child prints a child node, in pretty mode in parentheses unless it
// binds tighter than its parent.
func (p *checkPrinter) child(n, parent *ckNode) {
	if !p.pretty || simpleUnder(n, parent) {
		p.node(n)
		return
	}
	p.b.WriteByte('(')
	p.node(n)
	p.b.WriteByte(')')
}

// simpleUnder reports whether n needs no parentheses under parent in
// pretty mode.
func simpleUnder(n, parent *ckNode) bool {
	switch n.kind {
	case ckVar, ckConst, ckFunc, ckSQLFunc, ckCoalesce, ckArray, ckCast, ckCase:
		return true
	}
	switch parent.kind {
	case ckFunc, ckSQLFunc, ckCoalesce, ckArray, ckCase:
		return true
	case ckAnd, ckOr, ckNot:
		switch n.kind {
		case ckAnd, ckNot:
			return parent.kind != ckNot
		case ckOr:
			return parent.kind == ckOr
		case ckArrayOp:
			return false
		}
		return true
	case ckOp:
		return n.kind == ckOp && arithmeticBindsTighter(n, parent)
	}
	return false
}

// arithmeticBindsTighter reports whether the arithmetic operator n can go
// without parentheses as an operand of the arithmetic operator parent:
// when n binds tighter (* / % under + -), or binds as tight and is the
// left operand.
func arithmeticBindsTighter(n, parent *ckNode) bool {
	if len(n.args) != 2 || len(parent.args) != 2 || !arithmeticOps[n.text] || !arithmeticOps[parent.text] {
		return false
	}
	high := func(op string) bool { return op == "*" || op == "/" || op == "%" }
	switch {
	case high(n.text) && !high(parent.text):
		return true
	case !high(n.text) && high(parent.text):
		return false
	}
	return parent.args[0] == n
}

// constant prints a constant as PostgreSQL 15 prints constants in rule
// output: booleans and non-negative integers bare, numerics that look like
// decimals bare, NULL and everything else with its type.
func (p *checkPrinter) constant(n *ckNode) {
	if n.null {
		p.b.WriteString("NULL::" + checkTypeName(n.typ))
		return
	}
	switch n.typ {
	case oidBool:
		if n.text == "t" {
			p.b.WriteString("true")
		} else {
			p.b.WriteString("false")
		}
		return
	case oidInt4:
		if !strings.HasPrefix(n.text, "-") {
			p.b.WriteString(n.text)
			return
		}
	case oidNumeric:
		if n.text != "" && n.text[0] >= '0' && n.text[0] <= '9' && strings.ContainsAny(n.text, ".eE") {
			p.b.WriteString(n.text)
			return
		}
	}
	// With standard_conforming_strings on, as pgkeep always has it,
	// PostgreSQL doubles only the quotes.
	p.b.WriteString("'" + strings.ReplaceAll(n.text, "'", "''") + "'::" + checkTypeName(n.typ))
}

// checkTypeName names a type as pg_get_constraintdef does: like
// format_type(oid, NULL), except that blank-padded character without a
// length is bpchar, because character would mean character(1).
func checkTypeName(oid uint32) string {
	switch oid {
	case oidBpchar:
		return "bpchar"
	case arrayOf(oidBpchar):
		return "bpchar[]"
	}
	return formatTypeName(oid, -1)
}
