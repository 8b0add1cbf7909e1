package cli

import (
	"html/template"
	"net/http"

	"github.com/openchart/openchart/internal/app"
)

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenChart</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1b2430}
code{background:#eef2f6;padding:.1rem .3rem;border-radius:3px}a{color:#0b5cad}</style></head>
<body><h1>OpenChart</h1><p>Version {{.}}. This server speaks HL7 FHIR R4.</p>
<ul>
<li><a href="/fhir/metadata">FHIR CapabilityStatement</a> — <code>/fhir/metadata</code></li>
<li><a href="/fhir/Patient">Patients</a> — <code>/fhir/Patient</code></li>
<li><a href="/healthz">Health</a>, <a href="/readyz">readiness</a> and <a href="/metrics">metrics</a></li>
</ul></body></html>`))

// indexPage describes the server's endpoints at "/".
func indexPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		indexTmpl.Execute(w, app.Version)
	})
}
