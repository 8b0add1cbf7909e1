package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// TOTP as authenticator apps do it (RFC 6238): 30-second steps, 6 digits,
// HMAC-SHA1. A code is accepted one step early or late (clock skew), and
// only once.
const (
	totpPeriod    = 30
	totpDigits    = 6
	totpSkew      = 1
	recoveryCount = 10
)

// BeginTOTP starts enrolling a second factor: it returns the new key
// (base32, for typing in) and its otpauth:// URL (for a QR code). The key
// takes effect when ConfirmTOTP receives a first valid code; until then
// sign-in is unchanged. An account that has a second factor must disable
// it first (errs.Conflict).
func (s *Service) BeginTOTP(ctx context.Context, userID string) (secret, otpauthURL string, err error) {
	err = s.inTx(ctx, func(tx store.Tx) error {
		rec, it, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.maySelfOrManage(ctx, tx, rec); err != nil {
			return err
		}
		if rec.TOTPEnabled {
			return conflict("enrol second factor", "A second factor is already enrolled: remove it first.")
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: s.opts.Issuer, AccountName: rec.Username,
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
		if err != nil {
			return errs.E("enrol second factor", errs.Internal, err)
		}
		rec.TOTPPending = key.Secret()
		secret, otpauthURL = key.Secret(), key.URL()
		return putJSON(ctx, tx, it, rec)
	})
	return secret, otpauthURL, err
}

// ConfirmTOTP completes an enrolment with a code from the app and returns
// ten recovery codes, shown to the user this once (the store keeps their
// hashes). Audited as a permission change.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	var codes []string
	err := s.inTx(ctx, func(tx store.Tx) error {
		rec, it, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.maySelfOrManage(ctx, tx, rec); err != nil {
			return err
		}
		if rec.TOTPPending == "" {
			return errs.E("confirm second factor", errs.Invalid, "Start the enrolment first.")
		}
		step, ok := verifyTOTP(rec.TOTPPending, normalizeCode(code), s.now(), 0)
		if !ok {
			return errs.E("confirm second factor", errs.Invalid, "The code is not right: enter the 6 digits the app shows now.")
		}
		codes = codes[:0]
		rec.Recovery = nil
		for range recoveryCount {
			c := recoveryCode()
			codes = append(codes, c)
			rec.Recovery = append(rec.Recovery, tokenKey(normalizeCode(c)))
		}
		rec.TOTPSecret, rec.TOTPPending, rec.TOTPStep, rec.TOTPEnabled = rec.TOTPPending, "", step, true
		rec.Updated = s.now()
		if err := putJSON(ctx, tx, it, rec); err != nil {
			return err
		}
		e := entry(audit.InteractionPermissionChange, actor(ctx))
		e.Entities = []audit.Entity{userEntity(rec.ID)}
		e.OutcomeDesc = "second factor enrolled for " + rec.Username
		return appendAudit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP removes an account's second factor and its recovery codes
// (the user, or an administrator for a user who lost the device).
// Audited as a permission change.
func (s *Service) DisableTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx store.Tx) error {
		rec, it, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.maySelfOrManage(ctx, tx, rec); err != nil {
			return err
		}
		rec.TOTPSecret, rec.TOTPPending, rec.TOTPStep, rec.TOTPEnabled, rec.Recovery = "", "", 0, false, nil
		rec.Updated = s.now()
		if err := putJSON(ctx, tx, it, rec); err != nil {
			return err
		}
		e := entry(audit.InteractionPermissionChange, actor(ctx))
		e.Entities = []audit.Entity{userEntity(rec.ID)}
		e.OutcomeDesc = "second factor removed for " + rec.Username
		return appendAudit(ctx, tx, e)
	})
}

// verifyTOTP checks code against the steps around now and returns the
// step it matched; a step at or before last (already used) never matches.
func verifyTOTP(secret, code string, now time.Time, last int64) (int64, bool) {
	if secret == "" || len(code) != totpDigits {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	matched := int64(0)
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), opts)
		if err != nil {
			return 0, false
		}
		// Every step is compared, in constant time, whatever matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > last && matched == 0 {
			matched = step
		}
	}
	return matched, matched != 0
}

// recoveryAlphabet has no 0/o, 1/l/i: codes are copied by hand.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// recoveryCode is 16 random characters in groups of four
// ("k7dm-2xqe-9hvt-pa4c"), about 79 bits.
func recoveryCode() string {
	var b strings.Builder
	buf := make([]byte, 1)
	for i := 0; i < 16; {
		if _, err := rand.Read(buf); err != nil {
			panic("auth: no randomness: " + err.Error())
		}
		if int(buf[0]) >= 256-256%len(recoveryAlphabet) {
			continue // reject to keep the choice uniform
		}
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(recoveryAlphabet[int(buf[0])%len(recoveryAlphabet)])
		i++
	}
	return b.String()
}

// normalizeCode drops spaces and dashes and lower-cases a typed code.
func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// matchRecovery returns the index of the recovery code's hash in hashes,
// or -1.
func matchRecovery(hashes []string, code string) int {
	if code == "" {
		return -1
	}
	h := tokenKey(code)
	found := -1
	for i, x := range hashes {
		if subtle.ConstantTimeCompare([]byte(x), []byte(h)) == 1 {
			found = i
		}
	}
	return found
}
