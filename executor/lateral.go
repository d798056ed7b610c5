package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// lateralRelation joins the FROM items left of a LATERAL subquery with the
// subquery, which runs again for every left row. The subquery reads the
// left row as its enclosing row (ec.outer), like a correlated subquery.
type lateralRelation struct {
	left                  relation
	sub                   *selectPlan
	leftWidth, rightWidth int
	// leftOuter keeps left rows without a match (LEFT JOIN LATERAL).
	leftOuter bool
	on        expr
	// outerScope is the scope the subquery reads outside its own FROM: the
	// left columns, whose parent is the enclosing query's scope.
	outerScope *scope
}

// lateralJoin analyses a LATERAL subquery against the items to its left.
// kind is an inner or a left join.
func (a *analyser) lateralJoin(left relation, lsc *scope, rs *pg_query.RangeSubselect, kind pg_query.JoinType, quals *pg_query.Node) (relation, *scope, error) {
	if rs.Alias == nil {
		return nil, nil, pgerror.New(pgcode.SyntaxError, "subquery in FROM must have an alias").
			WithHint("For example, FROM (SELECT ...) [AS] foo.")
	}
	a.noteSubquery(rs.Subquery.GetSelectStmt())
	outerScope := &scope{cols: lsc.cols, parent: a.outer}
	sub, err := a.child(outerScope).analyseSelect(rs.Subquery.GetSelectStmt())
	if err != nil {
		return nil, nil, err
	}
	rsc, err := derivedScope(rs.Alias.Aliasname, sub, aliasColumnNames(rs.Alias))
	if err != nil {
		return nil, nil, err
	}
	sc := &scope{parent: a.outer}
	sc.cols = append(append(sc.cols, lsc.cols...), rsc.cols...)
	lr := &lateralRelation{
		left: left, sub: sub, leftWidth: len(lsc.cols), rightWidth: len(rsc.cols),
		leftOuter: kind == pg_query.JoinType_JOIN_LEFT, outerScope: outerScope,
	}
	if quals != nil {
		b := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "JOIN conditions"}
		on, err := b.build(quals)
		if err != nil {
			return nil, nil, err
		}
		if lr.on, err = b.requireBool(on, "JOIN/ON"); err != nil {
			return nil, nil, err
		}
	}
	return lr, sc, nil
}

// fromReadsOuter reports whether a subquery in FROM reads a query
// enclosing the one whose FROM holds it, which makes that query correlated
// too.
func fromReadsOuter(rel relation) bool {
	switch r := rel.(type) {
	case *lateralRelation:
		return r.outerScope.correlated || fromReadsOuter(r.left)
	case *joinRelation:
		return fromReadsOuter(r.left) || fromReadsOuter(r.right)
	case *derivedRelation:
		return r.cte == nil && r.plan.scope != nil && r.plan.scope.correlated
	case *functionRelation:
		return r.readsOuter()
	}
	return false
}

func (r *lateralRelation) open(ec *evalContext) (rowIter, error) {
	left, err := r.left.open(ec)
	if err != nil {
		return nil, err
	}
	return &lateralIter{rel: r, left: left}, nil
}

// lateralIter returns each left row joined with the subquery rows computed
// for it.
type lateralIter struct {
	rel     *lateralRelation
	left    rowIter
	leftRow []any
	right   [][]any
	pos     int
	hit     bool
}

func (it *lateralIter) next(ec *evalContext) ([]any, error) {
	r := it.rel
	for {
		for it.leftRow != nil && it.pos < len(it.right) {
			combined := append(append(make([]any, 0, r.leftWidth+r.rightWidth), it.leftRow...), it.right[it.pos]...)
			it.pos++
			if r.on != nil {
				ok, err := r.on.eval(ec, combined)
				if err != nil {
					return nil, err
				}
				if ok != true {
					continue
				}
			}
			it.hit = true
			return combined, nil
		}
		if it.leftRow != nil && !it.hit && r.leftOuter {
			row := append(it.leftRow, make([]any, r.rightWidth)...)
			it.leftRow = nil
			return row, nil
		}
		row, err := it.left.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		it.leftRow = append(make([]any, 0, len(row)+r.rightWidth), row...)
		ec.pushOuter(it.leftRow)
		it.right, err = materialize(ec, r.sub)
		ec.popOuter()
		if err != nil {
			return nil, err
		}
		it.pos, it.hit = 0, false
	}
}

func (it *lateralIter) close() { it.left.close() }

// lateralFunction returns a function in FROM whose arguments read columns
// as the equivalent subquery LATERAL (SELECT * FROM f(...) AS alias)
// alias. PostgreSQL treats every function in FROM as LATERAL, so its
// arguments may read the FROM items to its left. It returns nil for other
// items, which keep their cheaper plan.
func lateralFunction(item *pg_query.Node) *pg_query.RangeSubselect {
	rf := item.GetRangeFunction()
	if rf == nil || rf.IsRowsfrom || len(rf.Functions) != 1 {
		return nil
	}
	fc := rf.Functions[0].GetList().GetItems()[0].GetFuncCall()
	if fc == nil {
		return nil
	}
	readsColumns := false
	for _, arg := range fc.Args {
		walkMessages(arg.ProtoReflect(), func(m protoreflect.Message) {
			if _, ok := m.Interface().(*pg_query.ColumnRef); ok {
				readsColumns = true
			}
		})
	}
	if !readsColumns {
		return nil
	}
	alias := fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval()
	if rf.Alias != nil {
		alias = rf.Alias.Aliasname
	}
	star := &pg_query.Node{Node: &pg_query.Node_ColumnRef{ColumnRef: &pg_query.ColumnRef{
		Fields: []*pg_query.Node{{Node: &pg_query.Node_AStar{AStar: &pg_query.A_Star{}}}},
	}}}
	sub := &pg_query.SelectStmt{
		TargetList: []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: star}}}},
		FromClause: []*pg_query.Node{item},
	}
	return &pg_query.RangeSubselect{
		Lateral:  true,
		Subquery: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sub}},
		Alias:    &pg_query.Alias{Aliasname: alias},
	}
}
