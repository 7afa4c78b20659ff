// Package loopback hands out loopback TCP addresses for servers that the caller starts but
// does not bind itself (another process, or a library that takes an address): the port
// stays reserved until the caller releases it, so no other test or process running
// meanwhile can be given it. It is for tests and the benchmark harness; the gateway never
// imports it.
package loopback

// Reserve returns a loopback address ("127.0.0.1:port") that nothing listens on and that
// nobody else is given until release is called: a server may bind and listen on it
// meanwhile, and again after a restart. Until a server listens, a connection to it is
// refused, which makes it an upstream that is down.
func Reserve() (addr string, release func(), err error) { return reserve() }
