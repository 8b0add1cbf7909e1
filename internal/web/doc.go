// Package web is OpenChart's browser front door: the pages people sign in
// with (password, TOTP second factor, first-start setup, password reset),
// their account (password, second factor, sessions), the administration
// pages (users, the audit report), the home page with patient search and
// the break-the-glass form. It renders html/template pages with one
// embedded stylesheet and a little embedded script, and wraps every page in
// the same middleware: security headers, the session from its cookie, CSRF
// checks on every state-changing request, and one way of showing errors.
//
// It never touches a store: identities go through the identity service
// (internal/auth) and patient data through the Repository with the
// signed-in user's principal, so the access policy applies to every page.
// docs/WEB.md has the page map and the security measures.
package web
