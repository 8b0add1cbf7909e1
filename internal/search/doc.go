// Package search implements FHIR search (https://hl7.org/fhir/R4/search.html)
// on top of the store's index rows and structured queries. It has two
// halves, both driven by one Registry of search parameters: the
// definitions of package defs (the core specification and US Core) plus the
// custom SearchParameter resources a server stores:
//
//   - Indexer turns a resource into store.Index rows: for each search
//     parameter of its type, the values its expression selects, converted
//     by FHIR type as the "Search parameter types" table says
//     (search.html#ptypes), plus the compartments the resource is in
//     (compartmentdefinition.html). Nearly all expressions are plain paths,
//     sometimes with a type cast or a where() on a literal or on
//     resolve()'s type; those are walked directly over the JSON with the
//     element types from the definitions (a differential test keeps the
//     walk equal to the FHIRPath engine's results). The few others run on
//     the FHIRPath engine. resolve() never touches a database: the target
//     type comes from the reference text.
//
//   - Compiler turns URL search parameters into a store.Query: every
//     parameter type with its modifiers and prefixes, OR lists, repeated
//     parameters (AND), escaping, chains and reverse chains (_has), and the
//     result parameters (_sort, _count, _include...) returned separately for
//     the Repository. Strict handling fails on an unknown or malformed
//     parameter; lenient handling drops it and reports it.
//
// Conventions shared with the stores:
//
//   - Dates are closed UTC intervals at their precision, High being the
//     last microsecond (DateRange). A date or time without a zone is taken
//     as UTC. Open Period ends are OpenLow and OpenHigh.
//   - Numbers and quantities carry the half-open interval of their
//     significant digits (NumberRange). Quantities in a few common UCUM
//     units also carry their canonical unit and value, and search values in
//     those units are converted to the canonical unit.
//   - Strings are compared through NormalizeString on both sides.
//   - An Identifier's type codings are stored as extra token rows under
//     "<param>:of-type" with System "typeSystem|typeCode" and Code the
//     identifier value; a Reference's identifier as a token row under the
//     reference parameter itself (for :identifier).
//   - _id and _lastUpdated have no rows: stores match them on the record.
package search
