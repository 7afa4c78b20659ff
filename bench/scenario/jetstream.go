package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsCommand, as the first argument, makes this binary a nats-server (natsMain). The
// JetStream phases run their server as a child process of its own, not in the scenario,
// so that its CPU and memory are measured apart from the load generator's and it does not
// share the generator's Go runtime: the deployment shape, a server beside the gateway.
const natsCommand = "nats-server"

// natsMain serves JetStream on -listen with its file store in -store until SIGTERM.
// Without -sync-always the store is fsync'd every 2 minutes (nats-server's default),
// with it before every acknowledgement (`sync_interval: always`).
func natsMain(args []string) int {
	fs := flag.NewFlagSet(natsCommand, flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4222", "client address")
	store := fs.String("store", "", "JetStream store directory")
	always := fs.Bool("sync-always", false, "fsync every write before acknowledging it")
	fs.Parse(args)
	host, port, err := net.SplitHostPort(*listen)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || *store == "" {
		fmt.Fprintf(os.Stderr, "%s: -listen host:port and -store are required\n", natsCommand)
		return 2
	}
	srv, err := server.NewServer(&server.Options{Host: host, Port: p, JetStream: true, StoreDir: *store,
		SyncAlways: *always, NoSigs: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", natsCommand, err)
		return 1
	}
	srv.ConfigureLogger()
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		fmt.Fprintf(os.Stderr, "%s: not ready after 30s\n", natsCommand)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Shutdown()
	srv.WaitForShutdown()
	return 0
}

// natsServer starts a fresh nats-server (empty store in the work dir, under name) and
// returns it once it accepts connections, with its address.
func (s *scenario) natsServer(name string, syncAlways bool) (*proc, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(s.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	args := []string{natsCommand, "-listen", addr, "-store", filepath.Join(dir, "jetstream")}
	if syncAlways {
		args = append(args, "-sync-always")
	}
	p, err := startListening("nats-server", filepath.Join(dir, "nats-server.log"), self, addr, args...)
	if err != nil {
		return nil, "", err
	}
	return p, addr, nil
}
