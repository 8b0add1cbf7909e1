// Package server is OpenChart's HTTP front: it mounts the doors (the FHIR
// API under /fhir, later the clinician app and the portal), the operations
// endpoints (/healthz, /readyz, /metrics) and the middleware every request
// passes through (panic recovery, one access-log line, metrics). Doors
// translate; they never touch the store.
package server
