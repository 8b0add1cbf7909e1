package web

import "testing"

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/":                    "/",
		"/account":             "/account",
		"/?name=x&mrn=1":       "/?name=x&mrn=1",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"evil.example":         "/",
		"javascript:alert(1)":  "/",
		"/x\r\nSet-Cookie: a":  "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
