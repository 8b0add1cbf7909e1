package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// TestAuditUserIDIndexDropped checks migration 4 on a data directory made
// before it (the index present, schema version 3): reopening drops the
// index, keeps the trail, and reports by user still find their entries.
func TestAuditUserIDIndexDropped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		return tx.AppendAudit(ctx, []*audit.Entry{{Recorded: time.Now(), Action: audit.Read, Interaction: audit.InteractionRead,
			Agent: audit.Agent{Kind: "user", Username: "nurse", UserID: "u-7"}, Entities: []audit.Entity{{Type: "Patient", ID: "p1"}}, Patients: []string{"p1"}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	indexed := func() bool {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'audit_log_user_id'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if indexed() {
		t.Fatal("a new store has audit_log_user_id")
	}
	// The directory as version 3 left it.
	for _, q := range []string{"CREATE INDEX audit_log_user_id ON audit_log (user_id, recorded)", "DROP TABLE audit_org",
		"DELETE FROM schema_version WHERE version >= 4"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if !indexed() {
		t.Fatal("setup: no index")
	}
	db.Close()

	s, err = sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	db, _ = sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	defer db.Close()
	if indexed() {
		t.Error("reopening did not drop audit_log_user_id")
	}
	for _, user := range []string{"nurse", "u-7"} {
		page, err := s.AuditRange(ctx, store.AuditQuery{User: user})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rows) != 1 || page.Rows[0].UserID != "u-7" {
			t.Errorf("report by user %q: %d rows", user, len(page.Rows))
		}
	}
}
