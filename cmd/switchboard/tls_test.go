package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given serial and its key.
func writeCert(t *testing.T, dir string, serial int64) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "switchboard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: must(x509.MarshalECPrivateKey(key))}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(must(x509.ParseCertificate(der)))
	return certFile, keyFile, pool
}

// servedSerial connects over TLS, trusting pool, and returns the serial the listener presents.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool) (int64, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	buf := make([]byte, 256)
	n, _ := conn.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		t.Fatalf("GET /healthz over TLS: %q", buf[:n])
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

// TestTLSListenerReloadsCertificate: with tls.cert and tls.key the listener serves HTTPS;
// new files under the same names are served after a SIGHUP, without a restart.
func TestTLSListenerReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool1 := writeCert(t, dir, 1)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: startSink(t)})
	cfg := string(must(os.ReadFile(cfgPath))) + "tls: { cert: \"" + certFile + "\", key: \"" + keyFile + "\" }\n"
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	p := startProc(t, "", "serve", "-config", cfgPath)
	var serial int64
	eventually(t, 15*time.Second, "the TLS listener to answer", func() bool {
		s, err := servedSerial(t, addr, pool1)
		serial = s
		return err == nil
	})
	if serial != 1 {
		t.Fatalf("served serial %d, want 1", serial)
	}
	_, _, pool2 := writeCert(t, dir, 2)
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 5*time.Second, "the renewed certificate to be served", func() bool {
		s, err := servedSerial(t, addr, pool2)
		return err == nil && s == 2
	})
}
