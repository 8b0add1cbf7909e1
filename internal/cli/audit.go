package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/audit"
)

// auditCmd is "openchart audit verify": it walks the audit chain from its
// first entry and names the first entry that does not hold
// (45 CFR 170.315(d)(2) tamper detection; docs/AUDIT.md).
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{errors.New(`usage: openchart audit verify [--data DIR | --db URL]`)}
	}
	fs := newFlagSet("audit verify", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	// Only the store: verification reads, and must not add entries itself.
	st, err := app.OpenStore(ctx, sf.config(newLogger(stderr)))
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := audit.Verify(ctx, st)
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	if v.Broken != nil {
		return v.Broken // "audit chain broken at entry SEQ: ..."
	}
	fmt.Fprintf(stdout, "audit chain verified: %d entries\n", v.Entries)
	if v.Entries > 0 {
		// The head hash, for recording outside the database: a chain
		// rewritten from some entry on, head included, verifies on its own,
		// but no longer ends with the hash written down.
		fmt.Fprintf(stdout, "head: entry %d, hash %s\n", v.Head.Seq, hex.EncodeToString(v.Head.Hash))
	}
	return nil
}

// operator is the principal of an operator command: whoever runs it on
// this machine, recorded in the audit trail as such.
func operator(ctx context.Context) context.Context {
	p := &access.Principal{Kind: access.Operator}
	if u, err := user.Current(); err == nil {
		p.Username = u.Username
	}
	return access.With(ctx, p)
}
