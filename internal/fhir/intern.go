package fhir

import (
	"hash/maphash"
	"sync/atomic"
)

// Parsed resources repeat the same short strings many times: property
// names, code systems, codes, units, status values, the references of a
// patient's resources to the patient. The parser takes such strings from a
// small table of recently seen ones instead of allocating them again, with
// the value already boxed as an interface: fewer allocations per resource
// and less work for the garbage collector. The table is fixed in size and
// each slot holds the last string hashed to it, so it keeps at most
// internSlots strings of at most internMaxLen bytes alive.
const (
	internSlots  = 1 << 13
	internMaxLen = 64
)

type internEntry struct {
	s string
	v any // s boxed once
}

var (
	internTable [internSlots]atomic.Pointer[internEntry]
	internSeed  = maphash.MakeSeed()
)

// intern returns the entry holding the string of b, from the table when
// the slot of b holds it, else new (and stored in that slot). b must be
// valid UTF-8 and at most internMaxLen bytes.
func intern(b []byte) *internEntry {
	slot := &internTable[maphash.Bytes(internSeed, b)&(internSlots-1)]
	if e := slot.Load(); e != nil && e.s == string(b) {
		return e
	}
	s := string(b)
	e := &internEntry{s: s, v: s}
	slot.Store(e)
	return e
}

// uninterned lists the properties whose values are almost always unique to
// one resource: storing them would only push reusable strings out.
func uninterned(key string) bool {
	switch key {
	case "id", "fullUrl", "div", "data", "lastUpdated", "versionId":
		return true
	}
	return false
}
