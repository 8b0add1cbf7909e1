// Package chart is the clinician's read model of one patient's record: the
// summary (banner, problems, medications, allergies, immunizations, vitals,
// results, appointments, care team, social history, recent encounters), the
// encounter timeline, the results review (lab tables by panel or by day,
// other reports, imaging) and the trend of any numeric observation, with a
// server-side SVG chart of it.
//
// Everything is read through the Repository with the caller's principal in
// the context, so the access policy and the audit trail apply to every
// view; the package never touches a store. docs/CHART.md describes each
// view, the clinical rules it applies and the searches it runs.
package chart
