package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/pgtest"
	"github.com/openchart/openchart/internal/store/storetest"
)

// plans reports, for the session of a pool of one connection, how many
// generic and custom plans PostgreSQL made for its cached statements whose
// text contains fragment.
func plans(t *testing.T, pool *pgxpool.Pool, fragment string) (generic, custom int64) {
	t.Helper()
	err := pool.QueryRow(context.Background(),
		"SELECT coalesce(sum(generic_plans), 0)::bigint, coalesce(sum(custom_plans), 0)::bigint FROM pg_prepared_statements WHERE strpos(statement, $1) > 0",
		fragment).Scan(&generic, &custom)
	if err != nil {
		t.Fatal(err)
	}
	return generic, custom
}

// TestKeyedPlans checks where planning happens: reads by key reuse one
// generic plan, searches plan every execution with their values.
func TestKeyedPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, pgtest.URL(t), Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.PutPatients(t, s, "p", 0, 4, 0)
	const reads = 8
	hidden := store.Clause{Or: []store.Predicate{{Param: "_security", Kind: store.KindToken, Op: store.OpNot, System: "s", Code: "R"}}}
	for i := range reads {
		id := fmt.Sprintf("p%d", i%4)
		if _, err := s.Read(ctx, "Patient", id); err != nil {
			t.Fatal(err)
		}
		// A read under the access policy: one resource by id, with the
		// policy's negation.
		byID := store.Clause{Or: []store.Predicate{{Param: "_id", Kind: store.KindID, Code: id}}}
		res, err := s.Search(ctx, &store.Query{Types: []string{"Patient"}, Count: 1, Where: []store.Clause{byID, hidden}})
		if err != nil || len(res.Records) != 1 {
			t.Fatalf("search by id %s: %v, %v", id, res, err)
		}
		female := store.Clause{Or: []store.Predicate{{Param: "gender", Kind: store.KindToken, Code: "female", AnySystem: true}}}
		if res, err = s.Search(ctx, &store.Query{Types: []string{"Patient"}, Count: 10, Where: []store.Clause{female, hidden}}); err != nil || len(res.Records) != 4 {
			t.Fatalf("search by gender: %v, %v", res, err)
		}
	}
	for _, frag := range []string{"FROM resources r JOIN versions v ON v.rkey = r.rkey AND v.version = r.version\nWHERE r.type = $1 AND r.id = $2", "r.id = "} {
		g, c := plans(t, s.keyed, frag)
		if g+c < reads || c > 0 {
			t.Errorf("keyed statements like %q: %d generic and %d custom plans, want %d generic", strings.SplitN(frag, "\n", 2)[0], g, c, reads)
		}
	}
	g, c := plans(t, s.pool, "x1.code = ")
	if c < reads || g > 0 {
		t.Errorf("search statements: %d generic and %d custom plans, want %d custom", g, c, reads)
	}
}
