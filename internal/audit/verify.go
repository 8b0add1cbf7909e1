package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
)

// Row is an entry as a store keeps it: the canonical bytes that were
// hashed, the chain fields, and the columns reports filter on.
type Row struct {
	Seq  int64
	Prev []byte // hash of entry Seq-1 (Genesis for the first)
	Hash []byte // Hash(Prev, Data)
	Data []byte // canonical bytes (Encode)
	Columns
}

// Entry decodes the row's canonical bytes.
func (r *Row) Entry() (*Entry, error) { return Decode(r.Data) }

// Head is the chain head a store keeps beside the entries: the sequence
// number and hash of the last entry appended (0 and Genesis when empty).
// Appends lock it, so entries are numbered without gaps even when writers
// run concurrently; Verify compares it with the last entry, which catches
// entries deleted from the end.
type Head struct {
	Seq  int64
	Hash []byte
}

// Source is what Verify reads: a store's audit rows in sequence order.
type Source interface {
	// AuditScan returns up to limit rows with Seq > after, in Seq order.
	AuditScan(ctx context.Context, after int64, limit int) ([]*Row, error)
	// AuditHead returns the chain head.
	AuditHead(ctx context.Context) (Head, error)
}

// Anchored is a Source that also keeps an anchor: the sequence number and
// hash of an entry as another part of the store last saw it. The embedded
// store keeps the trail in a file of its own and the anchor in the file of
// the records, so a trail file deleted or replaced by an older copy, whose
// chain and head agree with each other, still fails verification. Verify
// checks that the chain holds the anchor's entry with the anchor's hash.
type Anchored interface {
	AuditAnchor(ctx context.Context) (Head, error)
}

// Broken describes the first entry at which the chain does not hold.
type Broken struct {
	Seq    int64
	Reason string
}

func (b *Broken) Error() string {
	return fmt.Sprintf("audit chain broken at entry %d: %s", b.Seq, b.Reason)
}

// Verification is the result of a walk over a whole chain.
type Verification struct {
	Entries int64
	Head    Head
	Broken  *Broken // nil when the chain holds
}

// Verify walks the chain from its first entry: sequence numbers must run
// 1, 2, 3... without gaps, each entry's canonical bytes must decode and name
// its own sequence number, its previous hash must be the hash of the entry
// before, its hash must be SHA-256(previous hash || bytes), its columns must
// equal those of the hashed bytes, and the last entry must be the chain head;
// when src is Anchored, the chain must hold the anchor's entry with its hash.
// Any modification, deletion or reordering of rows therefore fails at the
// first entry it touched. Errors are failures to read the store.
func Verify(ctx context.Context, src Source) (*Verification, error) {
	// The anchor is read first, then the head: an anchor is a head the
	// store saw earlier, and entries appended during the walk come after
	// the head.
	var anchor Head
	if a, ok := src.(Anchored); ok {
		var err error
		if anchor, err = a.AuditAnchor(ctx); err != nil {
			return nil, err
		}
	}
	head, err := src.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	v := &Verification{Head: head}
	prev := Genesis
	var last int64
	const page = 1000
	for {
		rows, err := src.AuditScan(ctx, last, page)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Seq > head.Seq {
				// Appended after the head was read: the next verification covers it.
				return v.done(last, prev, anchor), nil
			}
			if b := check(r, last+1, prev); b != nil {
				v.Broken = b
				return v, nil
			}
			if r.Seq == anchor.Seq && !bytes.Equal(r.Hash, anchor.Hash) {
				v.Broken = &Broken{r.Seq, "its hash differs from the one the store last saw, " + short(anchor.Hash) + " (the trail was replaced or rewritten)"}
				return v, nil
			}
			prev, last = r.Hash, r.Seq
			v.Entries++
		}
		if len(rows) < page {
			return v.done(last, prev, anchor), nil
		}
	}
}

// done checks the end of the chain against the head and the anchor.
func (v *Verification) done(last int64, prev []byte, anchor Head) *Verification {
	switch {
	case last < v.Head.Seq:
		v.Broken = &Broken{last + 1, fmt.Sprintf("the entry is missing (the chain head is entry %d)", v.Head.Seq)}
	case !bytes.Equal(prev, v.Head.Hash):
		v.Broken = &Broken{last, "the entry's hash differs from the chain head's " + short(v.Head.Hash)}
	case last < anchor.Seq:
		v.Broken = &Broken{last + 1, fmt.Sprintf("the entry is missing (the store last saw the chain at entry %d)", anchor.Seq)}
	}
	return v
}

func check(r *Row, want int64, prev []byte) *Broken {
	if r.Seq != want {
		return &Broken{want, fmt.Sprintf("the entry is missing (the next one is entry %d)", r.Seq)}
	}
	e, err := Decode(r.Data)
	if err != nil {
		return &Broken{r.Seq, "the entry cannot be read: " + err.Error()}
	}
	if e.Seq != r.Seq {
		return &Broken{r.Seq, fmt.Sprintf("the row holds entry %d (rows were reordered)", e.Seq)}
	}
	if !bytes.Equal(r.Prev, prev) {
		return &Broken{r.Seq, "its previous hash is not the hash of the entry before"}
	}
	if h := Hash(prev, r.Data); !bytes.Equal(h, r.Hash) {
		return &Broken{r.Seq, "its content does not match its hash (the entry was modified)"}
	}
	if c := e.Columns(); !c.equal(&r.Columns) {
		return &Broken{r.Seq, "its columns differ from the hashed entry (a column was modified)"}
	}
	return nil
}

func short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}
