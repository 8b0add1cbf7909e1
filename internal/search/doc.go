// Package search implements FHIR search (https://hl7.org/fhir/R4/search.html)
// on top of the store's index rows and structured queries. It has two
// halves, both driven by the SearchParameter definitions in package defs:
//
//   - Indexer turns a resource into store.Index rows: for each search
//     parameter of its type, the values its FHIRPath expression selects,
//     converted by FHIR type as the "Search parameter types" table says
//     (search.html#ptypes), plus the compartments it belongs to
//     (compartmentdefinition.html). Most expressions are plain paths and
//     are walked directly over the JSON; the rest run on the FHIRPath
//     engine, with resolve() answered from the reference text alone.
//
//   - Compiler turns URL search parameters into a store.Query: every
//     parameter type with its modifiers and prefixes, chains and reverse
//     chains (_has), and the result parameters (_sort, _count, _include...)
//     returned separately for the Repository.
//
// Values are compared as intervals at their precision on both sides: a date
// covers its year, month, day, minute, second or fraction (search.html#date;
// a time without zone is taken as UTC), a number or quantity the half unit
// of its last significant digit either side (search.html#number). Strings
// are folded by NormalizeString on both sides.
package search
