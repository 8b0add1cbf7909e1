package fhir

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestParseInternedStrings parses many documents at once whose short
// strings share the intern table's slots (more strings than slots): every
// value must come back as written, whatever the table held.
func TestParseInternedStrings(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * internSlots / 4 {
				code := fmt.Sprintf("c%d-%d", g, i)
				long := strings.Repeat("x", internMaxLen) + code
				doc := fmt.Sprintf(`{"resourceType":"Basic","id":"b%d","extension":[{"url":"u","valueString":"a\nb"}],"code":{"text":%q,"coding":[{"code":%q,"system":"http://example.org/%d"}]}}`, i, long, code, i%7)
				res, err := Parse([]byte(doc), ParseOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				cc := res["code"].(map[string]any)
				c := cc["coding"].([]any)[0].(map[string]any)
				if c["code"] != code || c["system"] != fmt.Sprintf("http://example.org/%d", i%7) || cc["text"] != long {
					t.Errorf("parsed %v from %s", cc, doc)
					return
				}
				if v := res["extension"].([]any)[0].(map[string]any)["valueString"]; v != "a\nb" {
					t.Errorf("escaped string parsed as %q", v)
					return
				}
				if got := string(Marshal(res)); got != doc {
					t.Errorf("marshal: %s, want %s", got, doc)
					return
				}
			}
		}()
	}
	wg.Wait()
}
