package sqlite

import (
	"context"
	"database/sql"
)

// preparer prepares statements on a connection pool, once at Open, for a
// statement set of the store. After the first failure it prepares nothing
// more, and err holds that failure; all lists what it prepared, for
// closeAll.
type preparer struct {
	ctx context.Context
	db  *sql.DB
	err error
	all []*sql.Stmt
}

func (p *preparer) prepare(q string) *sql.Stmt {
	if p.err != nil {
		return nil
	}
	st, err := p.db.PrepareContext(p.ctx, q)
	if err != nil {
		p.err = err
		return nil
	}
	p.all = append(p.all, st)
	return st
}

// closeStmts closes the statements of a set.
func closeStmts(all []*sql.Stmt) {
	for _, st := range all {
		st.Close()
	}
}
