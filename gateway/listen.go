package gateway

import (
	"crypto/tls"
	"fmt"
	"net"

	"switchboard/config"
)

// Listen opens the listener the config names: plain TCP, or TLS with the certificate of
// the config's tls section, which a reload replaces for the connections after it.
func (s *Server) Listen() (net.Listener, error) {
	cfg := s.live.Load().cfg
	cert, err := loadCert(cfg.TLS)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil || cert == nil {
		return ln, err
	}
	s.cert.Store(cert)
	return tls.NewListener(ln, &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cert.Load(), nil
		},
	}), nil
}

// loadCert reads the certificate and key files; nil without TLS.
func loadCert(c config.TLS) (*tls.Certificate, error) {
	if c.Cert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, fmt.Errorf("cannot load tls.cert and tls.key: %w", err)
	}
	return &cert, nil
}
