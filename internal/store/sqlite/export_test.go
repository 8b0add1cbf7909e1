package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store/sqlgen"
)

// WriteLegacyTrail makes dir hold openchart.db as a store of schema version
// 'version' (before audit.db) left it, with entries chained in its own audit
// tables, and returns the chain's head. On a directory whose openchart.db
// exists it only adds the old tables and their entries.
func WriteLegacyTrail(t testing.TB, dir string, version int, entries []*audit.Entry) audit.Head {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	var fresh int
	if err := db.QueryRow("SELECT count(*) = 0 FROM sqlite_master WHERE name = 'schema_version'").Scan(&fresh); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(files)
	exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
	for _, f := range files {
		n, _ := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if n > version || (fresh == 0 && n != 2 && n != 5) {
			continue
		}
		body, _ := migrations.ReadFile(f)
		exec(string(body))
		if fresh == 1 {
			exec("INSERT INTO schema_version (version) VALUES (?1)", n)
		}
	}
	head := audit.Head{Hash: audit.Genesis}
	for _, e := range entries {
		head.Seq++
		data, hash := audit.Seal(e, head.Seq, head.Hash)
		c := e.Columns()
		exec("INSERT INTO audit_log VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", head.Seq, sqlgen.Micros(c.Recorded),
			c.Action, c.Interaction, c.Outcome, c.User, c.UserID, c.FHIRUser, head.Hash, hash, data)
		for _, p := range c.Patients {
			exec("INSERT INTO audit_patient VALUES (?1, ?2)", p, head.Seq)
		}
		if c.Organization != "" && version >= 5 {
			exec("INSERT INTO audit_org VALUES (?1, ?2)", head.Seq, c.Organization)
		}
		head.Hash = hash
	}
	exec("UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1", head.Seq, head.Hash)
	return head
}

// WriterShrinks is the number of times the checkpointer released the page
// cache of openchart.db's writer.
func (s *Store) WriterShrinks() int64 { return s.ck.shrinks.Load() }
