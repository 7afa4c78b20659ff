package canonical

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable error class. Each dialect maps it to its own status and body shape.
type Code int

const (
	ErrInvalid      Code = iota + 1 // a field is missing, malformed or over its limit
	ErrUnauthorized                 // missing or wrong credentials, bad token or signature
	ErrForbidden                    // credentials fine, action not allowed
	ErrNotFound                     // unknown path or resource
	ErrConflict                     // idempotency key reused with a different message
	ErrTooLarge                     // request body over the limit
	ErrTooMany                      // rate limited
	ErrUnavailable                  // queue full or storage not ready: try later
	ErrInternal                     // a bug or a storage failure
	ErrMethod                       // method not allowed on this path
)

// HTTPStatus is the status a dialect without its own mapping answers with.
func (c Code) HTTPStatus() int {
	switch c {
	case ErrInvalid:
		return 400
	case ErrUnauthorized:
		return 401
	case ErrForbidden:
		return 403
	case ErrNotFound:
		return 404
	case ErrMethod:
		return 405
	case ErrConflict:
		return 409
	case ErrTooLarge:
		return 413
	case ErrTooMany:
		return 429
	case ErrUnavailable:
		return 503
	}
	return 500
}

// Error is an API error: a class, the field it concerns (if any) and a reason for people.
type Error struct {
	Code   Code
	Field  string
	Reason string
	// RetryAfter is set with ErrTooMany and ErrUnavailable.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Reason
	}
	return e.Reason
}

// Invalid returns an ErrInvalid error naming the field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: ErrInvalid, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Errorf returns an error of the given class.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, wrapping anything else as ErrInternal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ErrInternal, Reason: "internal error"}
}
