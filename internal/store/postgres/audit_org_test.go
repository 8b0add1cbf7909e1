package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/storetest"
)

// TestAuditOrgMigration checks migration 4 on a database made before it:
// the entries' organizations are filled in from their bytes.
func TestAuditOrgMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	storetest.AuditOrgBackfill(t, func() store.Store {
		s, err := Open(ctx, url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, q := range []string{"DROP TABLE audit_org", "DELETE FROM schema_migrations WHERE version = 4"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	})
}
