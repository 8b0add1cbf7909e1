package demo

import (
	"crypto/sha1"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/openchart/openchart/internal/fhir"
)

// seed fixes the demo's randomness: the same today gives the same bytes.
const seed = 0x0C_2026

// clinicZone is the clinic's UTC offset (US Central, standard time). A
// fixed offset keeps every generated time independent of the host's
// time zone database.
var clinicZone = time.FixedZone("CST", -6*60*60)

// Bundles returns the demo resources as FHIR transaction Bundles: first one
// for the organization, its payers, locations, practitioners, roles,
// schedules and slots; then one per patient. Every entry is a PUT of
// Type/id with a stable, readable id, so loading the Bundles again updates
// rather than duplicates. Histories are laid out backwards from today
// (clinic time): no clinical data is later than today; only Slots and
// Appointments lie in the next two weeks.
func Bundles(today time.Time) []map[string]any {
	t := today.In(clinicZone)
	day0 := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, clinicZone)
	cal := newCalendar(day0, rng("clinic"))
	var patients []map[string]any
	for _, p := range cast() {
		c := &chart{p: p, day0: day0, now: day0, rng: rng(p.key)}
		patients = append(patients, transaction("demo-"+p.key, c.build(cal)))
	}
	// The clinic's Bundle comes last in the making (appointments book its
	// slots) but first in the list, as the patients' resources refer to it.
	return append([]map[string]any{transaction("demo-clinic", clinicResources(cal))}, patients...)
}

// rng is a PCG stream of its own for each part of the demo, so that editing
// one patient's story leaves the others' values unchanged.
func rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// transaction wraps resources in a transaction Bundle of PUTs
// (https://hl7.org/fhir/R4/http.html#transaction).
func transaction(id string, resources []map[string]any) map[string]any {
	entries := make([]any, 0, len(resources))
	for _, r := range resources {
		narrate(r)
		url := fhir.TypeOf(r) + "/" + fhir.IDOf(r)
		entries = append(entries, map[string]any{
			"fullUrl":  "urn:uuid:" + nameUUID(url),
			"resource": r,
			"request":  map[string]any{"method": "PUT", "url": url},
		})
	}
	return map[string]any{
		"resourceType": "Bundle",
		"id":           id,
		"type":         "transaction",
		"entry":        entries,
	}
}

// demoNamespace is the namespace of the demo's name-based UUIDs.
var demoNamespace = [16]byte{0x6f, 0x70, 0x65, 0x6e, 0x63, 0x68, 0x61, 0x72, 0x74, 0x2d, 0x64, 0x65, 0x6d, 0x6f, 0x00, 0x01}

// nameUUID is the version-5 (SHA-1, name-based) UUID of name (RFC 9562
// section 5.5), so an entry's fullUrl is as stable as its id.
func nameUUID(name string) string {
	h := sha1.New()
	h.Write(demoNamespace[:])
	h.Write([]byte(name))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
