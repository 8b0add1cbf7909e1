package auth

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/openchart/openchart/internal/errs"
)

// Argon2Params are the cost parameters of argon2id (RFC 9106).
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 is OWASP's first argon2id configuration (Password
// Storage Cheat Sheet): 46 MiB, one pass, one lane. About 50 ms per hash on
// a server core, and 46 MiB per concurrent sign-in, which keeps a small
// clinic server (2 cores, a few GiB) responsive under a burst of sign-ins
// while making each guess of an offline attacker cost as much memory.
var DefaultArgon2 = Argon2Params{Memory: 46 * 1024, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MinPasswordLength is the shortest password accepted (in characters).
	MinPasswordLength = 12
	maxPasswordLength = 1024 // hashing a megabyte per attempt is a denial of service
)

// hashPassword returns the PHC string of an argon2id hash:
// $argon2id$v=19$m=47104,t=1,p=1$<salt>$<hash> (base64 without padding).
func hashPassword(password string, p Argon2Params) string {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parsePHC reads a hash made by hashPassword.
func parsePHC(phc string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, fmt.Errorf("bad argon2 parameters %q", parts[3])
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("bad salt: %w", err)
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, fmt.Errorf("bad hash")
	}
	return p, salt, key, nil
}

// verifyPassword reports whether password matches the PHC hash, comparing
// in constant time, and whether the hash is weaker than want (it should
// be replaced).
func verifyPassword(phc, password string, want Argon2Params) (ok, stale bool) {
	p, salt, key, err := parsePHC(phc)
	if err != nil || len(password) > maxPasswordLength {
		return false, false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, p.Memory < want.Memory || p.Time < want.Time
}

//go:embed common-passwords.txt
var commonPasswords string

var common = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonPasswords, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}()

// CheckPassword says why a password may not be used, as an errs.Invalid
// error whose message can be shown next to the field; nil when it is
// acceptable. NIST SP 800-63B 5.1.1.2: a minimum length, no composition
// rules, and a check against commonly used and context-specific values.
func CheckPassword(username, password string) error {
	const op = "check password"
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return errs.E(op, errs.Invalid, fmt.Sprintf("The password must have at least %d characters.", MinPasswordLength))
	case len(password) > maxPasswordLength:
		return errs.E(op, errs.Invalid, fmt.Sprintf("The password must have at most %d bytes.", maxPasswordLength))
	case !utf8.ValidString(password):
		return errs.E(op, errs.Invalid, "The password is not valid text.")
	case username != "" && strings.EqualFold(strings.TrimSpace(password), username):
		return errs.E(op, errs.Invalid, "The password must not be the username.")
	case strings.Count(password, string([]rune(password)[0])) == len(password):
		return errs.E(op, errs.Invalid, "The password must not repeat a single character.")
	case common[strings.ToLower(password)] || isRun(password):
		return errs.E(op, errs.Invalid, "This password is too common; choose another one.")
	}
	return nil
}

// isRun reports a keyboard or alphabet run ("123456789012", "abcdefghijkl"):
// each character one more than the previous.
func isRun(s string) bool {
	r := []rune(strings.ToLower(s))
	up, down := true, true
	for i := 1; i < len(r); i++ {
		d := r[i] - r[i-1]
		if d != 1 && !(r[i-1] == '9' && r[i] == '0') {
			up = false
		}
		if d != -1 && !(r[i-1] == '0' && r[i] == '9') {
			down = false
		}
	}
	return up || down
}
