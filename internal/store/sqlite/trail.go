package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// AuditFileName is the audit trail's database file inside the data
// directory. The trail has a file of its own so that the commits of read
// entries, one every few reads, change neither openchart.db nor the page
// caches of its readers, which SQLite empties at every commit to the file
// they read (docs/PERFORMANCE.md, "Read by id at 1,000 patients: the audit
// commit"). Entries of write transactions are staged in openchart.db's
// audit_stage within the transaction that writes, so that they commit with
// its writes or not at all, and appended to the chain right after (see
// AppendAudit and appendStaged).
const AuditFileName = "audit.db"

// trailStmts are the append statements, prepared once at Open on the
// trail's writer connection (preparing them for every read's entry cost
// more than the inserts).
type trailStmts struct {
	head, log, pat, org, moveHead *sql.Stmt
	all                           []*sql.Stmt
}

func (a *trailStmts) prepare(ctx context.Context, db *sql.DB) error {
	p := &preparer{ctx: ctx, db: db}
	a.head = p.prepare("SELECT seq, hash, staged FROM audit_head WHERE id = 1")
	a.log = p.prepare("INSERT INTO " + sqlgen.AuditLogTable + " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
	a.pat = p.prepare("INSERT INTO " + sqlgen.AuditPatientTable + " VALUES (?1, ?2)")
	a.org = p.prepare("INSERT INTO " + sqlgen.AuditOrgTable + " VALUES (?1, ?2)")
	a.moveHead = p.prepare("UPDATE audit_head SET seq = ?1, hash = ?2, staged = max(staged, ?3) WHERE id = 1")
	a.all = p.all
	return p.err
}

func (a *trailStmts) close() { closeStmts(a.all) }

// staged is an entry of a write transaction and its row in audit_stage.
type staged struct {
	id int64 // audit_stage.id; 0 for an entry that was never staged
	e  *audit.Entry
}

// moveMark is the chain's head right after the last staged entry it holds
// was appended.
type moveMark struct {
	staged int64 // the last audit_stage row in the chain
	head   audit.Head
}

// AppendAudit stages entries in audit_stage, in this write transaction: they
// commit with its writes or not at all. Once the transaction has committed,
// the store appends them to the chain (appendStaged), numbered after the
// last entry and hashed, and sets their Seq, before InTx returns (unless
// another process on the directory chained them first). Staging
// also deletes the rows already in the chain and records the chain's head
// as openchart.db's anchor.
func (t *tx) AppendAudit(ctx context.Context, entries []*audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := t.begin(ctx); err != nil {
		return err
	}
	if !t.tidied {
		if m := t.s.mark.Load(); m.staged > t.s.tidied.Load() {
			if err := t.s.tidyStage(ctx, t.wtx, m); err != nil {
				return errs.E("append audit", mapErr(err), err)
			}
			t.tidiedTo = m.staged
		}
		t.tidied = true
	}
	ins := t.wtx.StmtContext(ctx, t.s.stage.insert)
	for _, e := range entries {
		e.Seq = 0
		res, err := ins.ExecContext(ctx, audit.Encode(e))
		if err != nil {
			return errs.E("append audit", mapErr(err), err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return errs.E("append audit", errs.Internal, err)
		}
		t.staged = append(t.staged, staged{id, e})
	}
	return nil
}

// stageStmts are the statements of audit_stage and audit_anchor, prepared on
// the writer connection of openchart.db.
type stageStmts struct {
	insert, tidy, anchor *sql.Stmt
	all                  []*sql.Stmt
}

func (a *stageStmts) prepare(ctx context.Context, db *sql.DB) error {
	p := &preparer{ctx: ctx, db: db}
	a.insert = p.prepare("INSERT INTO audit_stage (entry) VALUES (?1)")
	a.tidy = p.prepare("DELETE FROM audit_stage WHERE id <= ?1")
	a.anchor = p.prepare("UPDATE audit_anchor SET seq = ?1, hash = ?2 WHERE id = 1 AND seq < ?1")
	a.all = p.all
	return p.err
}

func (a *stageStmts) close() { closeStmts(a.all) }

// tidyStage deletes, in wtx (a transaction of openchart.db), the staged
// rows the chain holds as of m, and anchors openchart.db at m's head unless
// the anchor is held (checkAnchor).
func (s *Store) tidyStage(ctx context.Context, wtx *sql.Tx, m *moveMark) error {
	if _, err := wtx.StmtContext(ctx, s.stage.tidy).ExecContext(ctx, m.staged); err != nil {
		return err
	}
	if s.anchorHeld.Load() {
		return nil
	}
	_, err := wtx.StmtContext(ctx, s.stage.anchor).ExecContext(ctx, m.head.Seq, m.head.Hash)
	return err
}

// CommitAudit appends entries to the chain in a transaction of audit.db
// alone: the group commit of reads, searches and failures, which leaves
// openchart.db untouched. When staged entries are waiting (an append of
// them failed), they are chained first.
func (s *Store) CommitAudit(ctx context.Context, entries []*audit.Entry) error {
	behind := s.behind.Load()
	_, _, err := s.appendTrail(ctx, behind, entries)
	if err == nil && behind {
		s.behind.Store(false)
	}
	return err
}

// appendStaged chains, right after a write transaction committed, every
// row of audit_stage the chain lacks, in order: those of this transaction
// and those of any transaction that committed
// before it and whose own append has not run yet, in this process or
// another one on the same directory. Rows are numbered in audit_stage in
// the order their transactions committed (they are inserted under the
// writer's lock), so chaining every row up to this transaction's, never
// only its own, keeps that order and leaves none out. A failure leaves the
// rows staged, to be chained by the next append (CommitAudit's included)
// or the next Open.
func (s *Store) appendStaged(ctx context.Context) error {
	head, last, err := s.appendTrail(ctx, true, nil)
	if err != nil {
		s.behind.Store(true)
		return err
	}
	s.behind.Store(false)
	for {
		m := s.mark.Load()
		if m.staged >= last || s.mark.CompareAndSwap(m, &moveMark{staged: last, head: head}) {
			break
		}
	}
	// Entries of this process that another process chained.
	s.pending.Range(func(id, _ any) bool {
		if id.(int64) <= last {
			s.pending.Delete(id)
		}
		return true
	})
	return nil
}

// loadStaged reads the rows of audit_stage after row after, in order, on
// a reader connection (a snapshot begun after every commit whose rows the
// caller must chain). The entries of this process's transactions are taken
// as they are (s.pending), so that their Seq is set; the others, staged by
// another process or before a restart, are decoded from their bytes.
func (s *Store) loadStaged(ctx context.Context, after int64) ([]staged, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, entry FROM audit_stage WHERE id > ?1 ORDER BY id", after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []staged
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		if e, ok := s.pending.Load(id); ok {
			out = append(out, staged{id, e.(*audit.Entry)})
			continue
		}
		e, err := audit.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("staged audit entry %d: %w", id, err)
		}
		out = append(out, staged{id, e})
	}
	return out, rows.Err()
}

// appendTrail chains entries after the head in one transaction of audit.db
// and returns the new head and the last staged row the chain holds:
// first, withStaged, every row of audit_stage the chain lacks (see
// appendStaged), then reads, each recorded at the store's clock while the
// head is held. The trail's single writer, whose lock every process on the
// directory takes, serializes appends.
func (s *Store) appendTrail(ctx context.Context, withStaged bool, reads []*audit.Entry) (audit.Head, int64, error) {
	var head audit.Head
	fail := func(err error) (audit.Head, int64, error) {
		return head, 0, errs.E("append audit", mapErr(err), err)
	}
	wtx, err := s.tw.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer wtx.Rollback()
	a := &s.trail
	st := func(s *sql.Stmt) *sql.Stmt { return wtx.StmtContext(ctx, s) }
	var seq, done int64
	var prev []byte
	if err := st(a.head).QueryRowContext(ctx).Scan(&seq, &prev, &done); err != nil {
		return fail(err)
	}
	var items []staged
	if withStaged {
		if items, err = s.loadStaged(ctx, done); err != nil {
			return fail(err)
		}
	}
	for _, e := range reads {
		e.Recorded = s.now()
		items = append(items, staged{e: e})
	}
	if len(items) == 0 {
		return audit.Head{Seq: seq, Hash: prev}, done, nil
	}
	log, pat := st(a.log), st(a.pat)
	var org *sql.Stmt // most entries name no organization
	last := done
	for _, it := range items {
		e := it.e
		seq++
		data, hash := audit.Seal(e, seq, prev)
		c := e.Columns()
		if _, err := log.ExecContext(ctx, seq, sqlgen.Micros(c.Recorded), c.Action, c.Interaction, c.Outcome,
			c.User, c.UserID, c.FHIRUser, prev, hash, data); err != nil {
			return fail(err)
		}
		for _, p := range c.Patients {
			if _, err := pat.ExecContext(ctx, p, seq); err != nil {
				return fail(err)
			}
		}
		if c.Organization != "" {
			if org == nil {
				org = st(a.org)
			}
			if _, err := org.ExecContext(ctx, seq, c.Organization); err != nil {
				return fail(err)
			}
		}
		prev = hash
		last = max(last, it.id)
	}
	if _, err := st(a.moveHead).ExecContext(ctx, seq, prev, last); err != nil {
		return fail(err)
	}
	if err := wtx.Commit(); err != nil {
		return fail(err)
	}
	s.tck.committed()
	for _, it := range items {
		if it.id != 0 {
			s.pending.Delete(it.id)
		}
	}
	return audit.Head{Seq: seq, Hash: prev}, last, nil
}

// adoptTrail moves the audit trail of a data directory made before
// audit.db existed out of openchart.db: it copies the chain into audit.db,
// unless audit.db already holds it (a copy that was interrupted before the
// old tables were dropped), then drops the old tables and anchors
// openchart.db at the chain's head. Both files must be open and migrated.
func (s *Store) adoptTrail(ctx context.Context, mainPath string) error {
	fail := func(err error) error {
		return errs.E("open store: moving the audit trail to "+AuditFileName, mapErr(err), err)
	}
	var n int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").Scan(&n); err != nil {
		return fail(err)
	}
	if n == 0 {
		return nil
	}
	var old, cur audit.Head
	if err := s.w.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&old.Seq, &old.Hash); err != nil {
		return fail(err)
	}
	readHead := func() error {
		return s.tw.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&cur.Seq, &cur.Hash)
	}
	if err := readHead(); err != nil {
		return fail(err)
	}
	if cur.Seq == 0 && old.Seq > 0 {
		if err := s.copyTrail(ctx, mainPath, old); err != nil {
			return fail(err)
		}
		if err := readHead(); err != nil {
			return fail(err)
		}
	}
	if cur.Seq != old.Seq || !bytes.Equal(cur.Hash, old.Hash) {
		return errs.E("open store", errs.Internal, fmt.Errorf("%s and %s hold different audit trails (entries %d and %d): restore the data directory from a backup",
			FileName, AuditFileName, old.Seq, cur.Seq))
	}
	wtx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer wtx.Rollback()
	for _, q := range []string{"DROP TABLE audit_org", "DROP TABLE audit_patient", "DROP TABLE audit_log", "DROP TABLE audit_head"} {
		if _, err := wtx.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("%s: %w", q, err))
		}
	}
	if _, err := wtx.ExecContext(ctx, "UPDATE audit_anchor SET seq = ?1, hash = ?2 WHERE id = 1", old.Seq, old.Hash); err != nil {
		return fail(err)
	}
	if err := wtx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// copyTrail copies the old tables of openchart.db into audit.db in one
// transaction of audit.db, through an attachment of openchart.db to the
// trail's writer connection.
func (s *Store) copyTrail(ctx context.Context, mainPath string, head audit.Head) error {
	conn, err := s.tw.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ?1 AS old", mainPath); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE old")
	wtx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer wtx.Rollback()
	const cols = "seq, recorded, action, interaction, outcome, username, user_id, fhir_user, prev_hash, hash, entry"
	for _, q := range []string{
		"INSERT INTO main.audit_log (" + cols + ") SELECT " + cols + " FROM old.audit_log ORDER BY seq",
		"INSERT INTO main.audit_patient (patient, seq) SELECT patient, seq FROM old.audit_patient",
		"INSERT INTO main.audit_org (seq, organization) SELECT seq, organization FROM old.audit_org",
	} {
		if _, err := wtx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err := wtx.ExecContext(ctx, "UPDATE main.audit_head SET seq = ?1, hash = ?2 WHERE id = 1", head.Seq, head.Hash); err != nil {
		return err
	}
	return wtx.Commit()
}

// checkAnchor compares audit.db with openchart.db's anchor, the chain's
// head as openchart.db last saw it. When audit.db lacks that entry or holds
// another in its place (the file was deleted, emptied or replaced by an
// older copy), the anchor stays where it is from then on, so that audit
// verify reports the break however long the new chain grows; restoring the
// trail file from the backup taken with the database mends it.
func (s *Store) checkAnchor(ctx context.Context) error {
	anchor, err := s.AuditAnchor(ctx)
	if err != nil {
		return errs.E("open store", errs.KindOf(err), err)
	}
	if anchor.Seq == 0 {
		return nil
	}
	var hash []byte
	err = s.tw.QueryRowContext(ctx, "SELECT hash FROM audit_log WHERE seq = ?1", anchor.Seq).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return errs.E("open store", mapErr(err), err)
	}
	s.anchorHeld.Store(err != nil || !bytes.Equal(hash, anchor.Hash))
	return nil
}

// AuditAnchor reads openchart.db's anchor (audit.Anchored).
func (s *Store) AuditAnchor(ctx context.Context) (audit.Head, error) {
	db := s.r // nil while the store opens
	if db == nil {
		db = s.w
	}
	var h audit.Head
	if err := db.QueryRowContext(ctx, "SELECT seq, hash FROM audit_anchor WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return h, errs.E("audit anchor", mapErr(err), err)
	}
	return h, nil
}

// readMark reads the chain's head and the last staged row it holds.
func (s *Store) readMark(ctx context.Context) (*moveMark, error) {
	m := &moveMark{}
	err := s.tw.QueryRowContext(ctx, "SELECT seq, hash, staged FROM audit_head WHERE id = 1").Scan(&m.head.Seq, &m.head.Hash, &m.staged)
	return m, err
}

// loadMark reads the chain's mark at Open.
func (s *Store) loadMark(ctx context.Context) error {
	m, err := s.readMark(ctx)
	if err != nil {
		return errs.E("open store", mapErr(err), err)
	}
	s.mark.Store(m)
	return nil
}

// anchorAtClose deletes the staged rows the chain holds and anchors
// openchart.db at the chain's current head (tidyStage).
func (s *Store) anchorAtClose(ctx context.Context) error {
	fail := func(err error) error { return errs.E("close store", mapErr(err), err) }
	m, err := s.readMark(ctx)
	if err != nil {
		return fail(err)
	}
	wtx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer wtx.Rollback()
	if err := s.tidyStage(ctx, wtx, m); err != nil {
		return fail(err)
	}
	if err := wtx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}
