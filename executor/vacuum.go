package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// vacuumOptions are the options of VACUUM (...) and ANALYZE (...) that
// PostgreSQL 15 accepts.
var vacuumOptions = map[string]bool{
	"verbose": true, "analyze": true, "freeze": true, "full": true, "disable_page_skipping": true,
	"skip_locked": true, "index_cleanup": true, "process_toast": true, "truncate": true, "parallel": true,
}

// planVacuum handles VACUUM and ANALYZE, which tools such as pgbench send
// after loading data. The pebble store reclaims space by compaction and
// pgkeep keeps no planner statistics, so both only check their arguments
// as PostgreSQL does and then do nothing.
func (a *analyser) planVacuum(vs *pg_query.VacuumStmt) (*plan, error) {
	tag := "ANALYZE"
	if vs.IsVacuumcmd {
		tag = "VACUUM"
	}
	for _, o := range vs.Options {
		de := o.GetDefElem()
		if de == nil || !vacuumOptions[strings.ToLower(de.Defname)] {
			name := ""
			if de != nil {
				name = de.Defname
			}
			return nil, pgerror.Newf(pgcode.SyntaxError, "unrecognized %s option %q", tag, name).WithPosition(de.GetLocation() + 1)
		}
	}
	for _, r := range vs.Rels {
		vr := r.GetVacuumRelation()
		if vr == nil || vr.Relation == nil {
			continue
		}
		t, _, err := a.resolveTable(vr.Relation)
		if err != nil {
			return nil, err
		}
		for _, c := range vr.VaCols {
			name := c.GetString_().GetSval()
			if t.ColumnByName(name) == nil {
				return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", name, t.Name)
			}
		}
	}
	return tagPlan(tag, func(ec *evalContext) error {
		if vs.IsVacuumcmd && ec.sess.txn.explicit {
			return pgerror.New(pgcode.ActiveSqlTransaction, "VACUUM cannot run inside a transaction block")
		}
		return nil
	}), nil
}
