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
	"os"
	"os/signal"
	"syscall"

	"switchboard/config"
	"switchboard/gateway"
)

const usage = `switchboard — messaging protocol gateway

Usage:
  switchboard serve -config FILE [-insecure-demo]
                                     run the gateway (-insecure-demo: allow the example
                                     file's published secrets beyond loopback)
  switchboard check -config FILE [-strict] [-against URL]
                                     validate a config: prints ok (and any warnings), or
                                     every problem; -strict makes warnings problems;
                                     -against asks a running gateway what a reload would change
  switchboard mock -dialect NAME -listen ADDR [-latency D] [-fail-rate F] [-fail-mode M]
                                     a vendor simulator (messageflow, multiwhats, wavy,
                                     flowbot, whatsappcloud, http); switchboard mock -h
  switchboard bench ...              the load generator (switchboard bench -h)
  switchboard probe [-url URL]       exit 0 when URL (default the local /readyz) answers
                                     2xx: a health check for images without curl
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
	case "probe":
		return probe(args[1:], stdout, stderr)
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

func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchboard.yaml", "the configuration file")
	strict := fs.Bool("strict", false, "treat warnings as problems (exit 1)")
	against := fs.String("against", "", "a running gateway's base URL: print what reloading this file there would change")
	token := fs.String("token", os.Getenv("SWITCHBOARD_ADMIN_TOKEN"), "the admin token for -against")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err == nil {
		err = gateway.Check(cfg) // the vendors' own checks, as serve runs them
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if ws := config.Warnings(cfg); len(ws) > 0 {
		for _, w := range ws {
			fmt.Fprintln(stderr, "warning: "+w.String())
		}
		if *strict {
			return 1
		}
	}
	fmt.Fprintln(stdout, "ok")
	if *against != "" {
		return checkAgainst(*path, *against, *token, stdout, stderr)
	}
	return 0
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchboard.yaml", "the configuration file")
	insecureDemo := fs.Bool("insecure-demo", false, "serve with the example file's published secrets on a non-loopback address")
	if fs.Parse(args) != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log, level := newLogger(cfg.LogLevel, stderr)
	log.Info("starting", "version", gateway.Version(), "go", gateway.GoVersion(), "config", *path)
	if !*insecureDemo {
		if err := gateway.CheckDemoSecrets(cfg); err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
	}
	srv, err := gateway.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	srv.EnableReload(*path, level, *insecureDemo)
	// Signals are taken before listening, so that a SIGHUP sent as soon as the port answers
	// reloads rather than kills.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ln, err := srv.Listen()
	if err != nil {
		log.Error("cannot listen", "listen", cfg.Listen, "err", err)
		srv.Shutdown(context.Background())
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	notify("READY=1")
	for {
		select {
		case err := <-done:
			log.Error("server stopped", "err", err)
			srv.Shutdown(context.Background())
			return 1
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				notify(reloading())
				srv.Reload() //nolint:errcheck // Reload logs every problem itself
				notify("READY=1")
				continue
			}
			return stopServer(srv, sigs, log)
		}
	}
}

// stopServer drains, then shuts down within the config's shutdown.timeout. A second
// SIGTERM or SIGINT cuts the drain short.
func stopServer(srv *gateway.Server, sigs <-chan os.Signal, log *slog.Logger) int {
	notify("STOPPING=1")
	dctx, cancelDrain := context.WithCancel(context.Background())
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig != syscall.SIGHUP {
					cancelDrain()
					return
				}
			case <-dctx.Done():
				return
			}
		}
	}()
	srv.Drain(dctx)
	cancelDrain()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), srv.ShutdownTimeout())
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("unclean shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// newLogger logs JSON at level, which a reload may change through the LevelVar.
func newLogger(level string, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err == nil {
		lv.Set(l)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: gateway.MillisAttr})), lv
}
