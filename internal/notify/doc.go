// Package notify tells portal users, by email, that something new waits
// for them in the portal: a message from the care team, a test result, an
// appointment booked, moved or cancelled, and an appointment the next day.
//
// The emails never carry clinical details: they say that there is
// something to see and where to sign in (docs/NOTIFY.md).
//
// Preferences, the history checkpoint, the markers of events already
// handled and the outbox of emails to send are server state (store.Item)
// in the same database as the record, so a restart neither loses nor
// repeats a notification, and several servers on one database share the
// work: each event and each email is claimed with a conditional write
// (store.ItemWriter.PutItem), and only the server whose claim commits acts
// on it.
//
// Events are found by polling the Repository's history of Communication,
// DiagnosticReport, Observation and Appointment as OpenChart itself
// (access.System); whether a portal user may see a resource is decided by
// reading it through the Repository with that user's own principal, so
// the access policy (labels hidden from proxies, the patient set) decides,
// as it does for the portal's pages.
package notify
