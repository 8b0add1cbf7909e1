package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlite"
	"github.com/openchart/openchart/internal/store/storetest"
)

// TestAuditOrgMigration checks migration 5 on a data directory made before
// it: the entries' organizations are filled in from their bytes.
func TestAuditOrgMigration(t *testing.T) {
	dir := t.TempDir()
	storetest.AuditOrgBackfill(t, func() store.Store {
		s, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func() {
		db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range []string{"DROP TABLE audit_org", "DELETE FROM schema_version WHERE version = 5"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	})
}
