// Package safety checks a proposed prescription against what is known of
// the patient: drug allergies (the same ingredient, or an ingredient of the
// same cross-reactivity class), drug-drug interactions, and duplicate
// therapy (the same ingredient or therapeutic class already active).
//
// The clinical knowledge is data, not code: tab-separated files (the
// embedded starter set is in knowledge/) with a severity and a source on
// every row. Load reads a replacement set from any directory; Default is the
// embedded one. Drugs are resolved to their ingredients through the RxNorm
// catalogue of internal/terminology. docs/KNOWLEDGE.md describes the files,
// their sources and what the starter set does not cover.
package safety
