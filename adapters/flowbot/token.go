package flowbot

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"switchboard/adapters"
	"switchboard/canonical"
)

// sigPrefix is the optional prefix of X-Signature-256 (GitHub and Meta style).
const sigPrefix = "sha256="

// claims are the API token's claims: sub is the clientId.
type claims struct {
	Tenant string `json:"tenant,omitempty"`
	jwt.RegisteredClaims
}

// IssueToken returns an HS256 JWT for clientID that expires ttl after now. It refuses an
// empty secret.
func IssueToken(secret []byte, clientID, tenant string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", canonical.Errorf(canonical.ErrInternal, "token signing is not configured")
	}
	if ttl <= 0 {
		return "", canonical.Errorf(canonical.ErrInternal, "token lifetime must be positive")
	}
	c := claims{Tenant: tenant, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   clientID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", canonical.Errorf(canonical.ErrInternal, "cannot sign token: %v", err)
	}
	return tok, nil
}

// VerifyToken checks a token IssueToken made and returns its clientId. Expired, not yet
// valid, wrongly signed, unsigned (alg none) or non-HS256 tokens are ErrUnauthorized.
func VerifyToken(secret []byte, token string, now time.Time) (clientID string, err error) {
	clientID, _, err = VerifyTokenExpiry(secret, token, now)
	return clientID, err
}

// VerifyTokenExpiry is VerifyToken that also returns when the token expires, so a caller
// may remember a verified token until then.
func VerifyTokenExpiry(secret []byte, token string, now time.Time) (clientID string, expires time.Time, err error) {
	if len(secret) == 0 {
		return "", time.Time{}, canonical.Errorf(canonical.ErrUnauthorized, "Invalid token")
	}
	var c claims
	_, err = jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", time.Time{}, canonical.Errorf(canonical.ErrUnauthorized, "Token expired")
	case err != nil, c.Subject == "", c.ExpiresAt == nil:
		return "", time.Time{}, canonical.Errorf(canonical.ErrUnauthorized, "Invalid token")
	}
	return c.Subject, c.ExpiresAt.Time, nil
}

// CheckSignature reports whether sigHex (hex, either case, with or without "sha256=") is
// the HMAC-SHA256 of body under secret. The comparison takes constant time. An empty
// secret never matches.
func CheckSignature(body []byte, sigHex string, secret []byte) bool {
	if len(secret) == 0 {
		return false
	}
	s := []byte(sigHex)
	s = trimSpace(s)
	if hasPrefixFold(s, sigPrefix) {
		s = s[len(sigPrefix):]
	}
	var got [sha256.Size]byte
	if len(s) != 2*len(got) {
		return false
	}
	for i := range got {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		got[i] = hi<<4 | lo
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	var want [sha256.Size]byte
	return hmac.Equal(mac.Sum(want[:0]), got[:])
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// maxTTLSec keeps ttlSec from overflowing a time.Duration.
const maxTTLSec = math.MaxInt64 / int64(time.Second)

// ParseTokenRequest reads POST /api/auth/api-token: {clientId, apiKey, ttlSec}. ttlSec
// defaults to an hour and must be a positive whole number; the gateway caps it. The client
// id and key are returned with an error when they could be read.
func ParseTokenRequest(c *adapters.Call) (clientID, apiKey string, ttl time.Duration, err error) {
	body, err := objectBody(c.Req.Body())
	if err != nil {
		return "", "", 0, err
	}
	ttl = DefaultTokenTTL
	var ferr error
	for it := members(body); ; {
		key, val, ok := it.nextMember()
		if !ok {
			break
		}
		var e error
		switch k := string(keyName(key)); k {
		case "clientId":
			clientID, e = stringField(k, val)
		case "apiKey":
			apiKey, e = stringField(k, val)
		case "ttlSec":
			ttl, e = ttlField(val)
		}
		if ferr == nil {
			ferr = e
		}
	}
	switch {
	case ferr != nil:
		return clientID, apiKey, 0, ferr
	case clientID == "":
		return clientID, apiKey, 0, canonical.Invalid("clientId", "is required")
	case apiKey == "":
		return clientID, apiKey, 0, canonical.Invalid("apiKey", "is required")
	}
	return clientID, apiKey, ttl, nil
}

func ttlField(raw []byte) (time.Duration, error) {
	switch kindOf(raw) {
	case kindNull:
		return DefaultTokenTTL, nil
	case kindNumber:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n <= 0 {
			return 0, canonical.Invalid("ttlSec", "must be a positive whole number of seconds")
		}
		return time.Duration(min(n, maxTTLSec)) * time.Second, nil
	}
	return 0, canonical.Invalid("ttlSec", "must be a number, not %s", kindOf(raw))
}

// AppendTokenAnswer appends api-token's answer: {"success":true,"tokenType":"Bearer",
// "accessToken":"...","expiresInSec":3600,"clientNumber":"...","clientId":"..."}.
func AppendTokenAnswer(dst []byte, token string, ttl time.Duration, acct *adapters.Account) []byte {
	var a adapters.Account
	if acct != nil {
		a = *acct
	}
	dst = append(dst, `{"success":true,"tokenType":"Bearer","accessToken":`...)
	dst = adapters.AppendJSONString(dst, token)
	dst = append(dst, `,"expiresInSec":`...)
	dst = strconv.AppendInt(dst, int64(ttl/time.Second), 10)
	dst = append(dst, `,"clientNumber":`...)
	dst = adapters.AppendJSONString(dst, a.ClientNumber)
	dst = append(dst, `,"clientId":`...)
	dst = adapters.AppendJSONString(dst, a.ClientID)
	return append(dst, '}')
}
