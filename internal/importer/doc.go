// Package importer loads FHIR data from files straight into the Repository:
// transaction and batch Bundles (.json, .json.gz) and NDJSON (.ndjson,
// .ndjson.gz), from files or whole directories. It is what
// `openchart import` runs.
//
// Imports are idempotent for data that carries ids or identifiers: a
// Bundle entry POSTed with a resource id is stored under that id (as an
// update-as-create), one with an identifier becomes a conditional create on
// it, and an update whose content equals the stored version writes nothing.
// Running the same import twice therefore leaves one copy of everything.
//
// Bundles may reference resources that another file creates (Synthea's
// patient Bundles point at practitioners by conditional reference); a file
// that fails only because such a target is missing is retried after the
// others.
package importer
