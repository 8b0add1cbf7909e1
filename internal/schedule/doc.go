// Package schedule is the clinic's scheduling: a practitioner's weekly
// availability at a location (a template kept on the FHIR Schedule), the
// free Slots generated from it, booking a Slot as an Appointment, the
// visit's life (check-in with its Encounter, no-show, cancellation,
// rescheduling) and the day and week calendars of a practitioner or a
// location (https://hl7.org/fhir/R4/appointment.html#workflow).
//
// Everything is read and written through the Repository with the caller's
// principal in the context, so validation, the access policy and the audit
// trail apply; every change that touches more than one resource (a booking
// marks its Slot busy and creates the Appointment) is one Repository
// transaction. docs/SCHEDULING.md describes the FHIR representation and
// the rules.
package schedule
