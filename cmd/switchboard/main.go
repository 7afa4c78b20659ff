// Command switchboard is the messaging protocol gateway: serve, check a config, run a vendor
// simulator, or load-test. It only parses flags and wires config to the gateway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"switchboard/config"
	"switchboard/gateway"
)

// shutdownTimeout bounds a graceful stop: requests in progress and in-flight sends.
const shutdownTimeout = 20 * time.Second

const usage = `switchboard — messaging protocol gateway

Usage:
  switchboard serve -config FILE     run the gateway
  switchboard check -config FILE     validate a config: prints ok, or every problem
  switchboard mock -dialect NAME -listen ADDR [-latency D] [-fail-rate F] [-fail-mode M]
                                     a vendor simulator (messageflow, multiwhats, wavy,
                                     flowbot, whatsappcloud, http); switchboard mock -h
  switchboard bench ...              the load generator (switchboard bench -h)
  switchboard version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "mock":
		return mock(args[1:], stderr)
	case "bench":
		return bench(args[1:])
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "switchboard", buildVersion())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return 2
}

func buildVersion() string {
	return gateway.Version() + " " + gateway.GoVersion()
}

func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchboard.yaml", "the configuration file")
	if fs.Parse(args) != nil {
		return "", false
	}
	return *path, true
}

func check(args []string, stdout, stderr io.Writer) int {
	path, ok := configFlag("check", args, stderr)
	if !ok {
		return 2
	}
	cfg, err := config.Load(path)
	if err == nil {
		err = gateway.Check(cfg) // the vendors' own checks, as serve runs them
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

func serve(args []string, stderr io.Writer) int {
	path, ok := configFlag("serve", args, stderr)
	if !ok {
		return 2
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.LogLevel, stderr)
	srv, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Error("cannot listen", "listen", cfg.Listen, "err", err)
		srv.Shutdown(context.Background())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		log.Error("server stopped", "err", err)
		srv.Shutdown(context.Background())
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("unclean shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
