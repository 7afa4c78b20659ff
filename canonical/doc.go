// Package canonical holds the one message model every dialect translates to and from:
// the Message, its statuses, the error catalogue each dialect maps to its own shape,
// phone-number normalisation and the queue encoding.
//
// It must never import another package of this module, do I/O, or keep global state
// beyond immutable tables.
package canonical
