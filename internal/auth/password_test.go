package auth

import (
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/errs"
)

// TestPasswordHash checks the PHC argon2id hash: salted, verified in
// constant time, malformed hashes refused, weaker parameters reported.
func TestPasswordHash(t *testing.T) {
	h := hashPassword(goodPassword, testArgon2)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if strings.Contains(h, goodPassword) {
		t.Fatal("the hash holds the password")
	}
	if ok, stale := verifyPassword(h, goodPassword, testArgon2); !ok || stale {
		t.Errorf("verify right password: ok %v stale %v", ok, stale)
	}
	if ok, _ := verifyPassword(h, goodPassword+"!", testArgon2); ok {
		t.Error("a wrong password verified")
	}
	if _, stale := verifyPassword(h, goodPassword, DefaultArgon2); !stale {
		t.Error("a hash weaker than the configured parameters is not reported stale")
	}
	if h2 := hashPassword(goodPassword, testArgon2); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", h[:len(h)-50]} {
		if ok, _ := verifyPassword(bad, goodPassword, testArgon2); ok {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

// TestCheckPassword checks the password rules and their messages.
func TestCheckPassword(t *testing.T) {
	cases := []struct {
		name, user, pw string
		ok             bool
	}{
		{"good", "alice", goodPassword, true},
		{"short", "alice", "short-pw", false},
		{"eleven", "alice", "abcdefghijx", false},
		{"username", "alice.smith.md", "Alice.Smith.MD", false},
		{"one character", "alice", "aaaaaaaaaaaaaaa", false},
		{"common", "alice", "Password1234", false},
		{"digit run", "alice", "123456789012", false},
		{"letter run", "alice", "abcdefghijklm", false},
		{"unicode counts characters", "alice", "ééééééééééé", false},
		{"long enough unicode", "alice", "ünïcödé-pässwörd", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPassword(c.user, c.pw)
			if (err == nil) != c.ok {
				t.Fatalf("CheckPassword(%q) = %v, want ok %v", c.pw, err, c.ok)
			}
			if err != nil && (errs.KindOf(err) != errs.Invalid || errs.Message(err) == "") {
				t.Errorf("error %v: want an invalid error with a message", err)
			}
		})
	}
}

// BenchmarkHashPassword measures the cost of one sign-in's hash with the
// production parameters.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		hashPassword(goodPassword, DefaultArgon2)
	}
}
