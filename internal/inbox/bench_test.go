package inbox

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCounts measures the navigation badges on the embedded store
// with a busy inbox: 300 messages (100 unread), 100 open tasks and 100
// results to review among 200.
func BenchmarkCounts(b *testing.B) {
	e := newEnv(b, stores()["sqlite"](b))
	reader := Reader{User: e.doc, Groups: []string{e.clinic}}
	for i := range 300 {
		m, err := e.inbox.Send(e.ctx, NewMessage{From: e.pat, To: []string{e.clinic}, Patient: e.pat, Topic: fmt.Sprint("m", i), Text: "x"})
		if err != nil {
			b.Fatal(err)
		}
		if i%3 != 0 {
			if _, err := e.inbox.MarkRead(e.ctx, m.ID, reader); err != nil {
				b.Fatal(err)
			}
		}
	}
	order := e.order(e.doc)
	for i := range 200 {
		obs := e.lab(order, fmt.Sprint("t", i), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Hour), "")
		if i%2 == 0 {
			if _, err := e.inbox.SignOff(e.ctx, obs, e.doc, ""); err != nil {
				b.Fatal(err)
			}
		}
		if i%2 == 1 {
			if _, err := e.inbox.CreateTask(e.ctx, NewTask{Owner: e.doc, Description: "t"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := e.inbox.Counts(e.ctx, reader)
		if err != nil || c.Unread != 100 || c.Results != 100 || c.Tasks != 100 {
			b.Fatalf("Counts = %+v, %v", c, err)
		}
	}
}
