// Package inbox is what waits for a user: patient messages (threads of
// FHIR Communications with attachments and read receipts), results to
// review (DiagnosticReports and laboratory Observations, abnormal first,
// signed off with a Task), open Tasks, and the counts of each for the
// navigation badges.
//
// Everything is read and written through the Repository with the caller's
// principal in the context, so validation, the access policy and the audit
// trail apply. docs/INBOX.md describes the FHIR representation and the
// rules.
package inbox
