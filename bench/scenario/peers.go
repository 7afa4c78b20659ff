package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// peerPhase is one wrk measurement against Kannel, Switchboard or the ceiling.
type peerPhase struct {
	wrkResult
	ServerCPU float64 `json:"server_cores"` // bearerbox + smsbox, or the gateway
	WrkCPU    float64 `json:"wrk_cores"`
	OtherCPU  float64 `json:"other_cores"` // everything else on the machine
	Delivered float64 `json:"delivered_per_sec,omitempty"`
	DelRatio  float64 `json:"delivered_ratio,omitempty"` // after the drain
}

type peerRun struct {
	N         int       `json:"run"`
	Ceiling   peerPhase `json:"ceiling"`
	Kannel    peerPhase `json:"kannel_accept"`
	KannelE2E peerPhase `json:"kannel_e2e"`
	Native    peerPhase `json:"switchboard_native_accept"`
	Wavy      peerPhase `json:"switchboard_wavy_get_accept"`
	Interval  peerPhase `json:"switchboard_native_interval_accept"`
	NativeE2E peerPhase `json:"switchboard_e2e"`
}

// kannel is a running bearerbox and smsbox.
type kannel struct {
	bearerbox, smsbox *proc
	sendURL           string
}

// startKannel writes the peers' Kannel config for a store in dir and an SMSC posting to
// sink, starts both boxes, and waits until a sendsms request is accepted.
func (s *scenario) startKannel(dir, sink string) (*kannel, error) {
	tmpl, err := template.ParseFiles(filepath.Join(s.o.peersDir, "kannel.conf"))
	if err != nil {
		return nil, err
	}
	ports := map[string]any{"Dir": dir, "Sink": sink}
	for _, k := range []string{"AdminPort", "BoxPort", "SendPort", "SMSCPort"} {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		_, ports[k], _ = net.SplitHostPort(a)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "kannel.conf")
	f, err := os.Create(conf)
	if err != nil {
		return nil, err
	}
	err = tmpl.Execute(f, ports)
	f.Close()
	if err != nil {
		return nil, err
	}
	k := &kannel{sendURL: fmt.Sprintf("http://127.0.0.1:%s", ports["SendPort"])}
	if k.bearerbox, err = startProc("bearerbox", filepath.Join(dir, "bearerbox.out"), "bearerbox", "-v", "2", conf); err != nil {
		return nil, err
	}
	if err := waitListen(k.bearerbox, "127.0.0.1:"+ports["BoxPort"].(string), 30*time.Second); err != nil {
		k.stop()
		return nil, err
	}
	if k.smsbox, err = startProc("smsbox", filepath.Join(dir, "smsbox.out"), "smsbox", "-v", "2", conf); err != nil {
		k.stop()
		return nil, err
	}
	admin := fmt.Sprintf("http://127.0.0.1:%s/status.xml?password=%s", ports["AdminPort"], kannelAdminPassword)
	if err := k.waitSmsboxConnected(admin, 30*time.Second); err != nil {
		k.stop()
		return nil, err
	}
	probe := k.sendURL + "/cgi-bin/sendsms?username=bench&password=bench&from=12345&to=5511960000000&text=probe"
	if _, err := waitStatus(k.smsbox, probe, 202, 30*time.Second); err != nil {
		k.stop()
		return nil, err
	}
	return k, nil
}

// kannelAdminPassword is bearerbox's admin-password in the peers' kannel.conf.
const kannelAdminPassword = "bench"

// waitSmsboxConnected polls bearerbox's admin status until it lists the smsbox among its
// box connections. smsbox answers sendsms before it has connected to bearerbox, and a
// message it takes then crashes it (gwlib/conn.c: "Assertion `conn != NULL' failed"), so
// nothing is sent to it before.
func (k *kannel) waitSmsboxConnected(statusURL string, limit time.Duration) error {
	ok, err := poll(limit, func() (bool, error) {
		for _, p := range []*proc{k.bearerbox, k.smsbox} {
			if err := exitedErr(p, "the smsbox connected to the bearerbox"); err != nil {
				return false, err
			}
		}
		code, body, _ := httpGet(statusURL, "", time.Second)
		return code == 200 && bytes.Contains(body, []byte("<type>smsbox</type>")), nil
	})
	if err == nil && !ok {
		err = fmt.Errorf("bearerbox (%s) lists no smsbox connection after %s", statusURL, limit)
	}
	return err
}

func (k *kannel) pids() []int { return []int{k.bearerbox.pid(), k.smsbox.pid()} }

func (k *kannel) stop() {
	if k.smsbox != nil {
		k.smsbox.stop(10 * time.Second)
	}
	k.bearerbox.stop(10 * time.Second)
}

// measure runs wrk against url while metering the server's processes; with a sink it also
// counts deliveries during the load and then waits up to the drain for the rest.
func (s *scenario) measure(ctx context.Context, script, url string, d time.Duration, sink *countSink, server ...int) (peerPhase, error) {
	var base int64
	if sink != nil {
		base = sink.count.Load()
	}
	m := meterCPU(server...)
	w, wrkCPU, err := runWrk(ctx, filepath.Join(s.o.peersDir, script), url, s.o.connections, d)
	if err != nil {
		return peerPhase{}, err
	}
	wall := time.Since(m.start).Seconds()
	cpu, _, other := m.usage()
	ph := peerPhase{wrkResult: w, WrkCPU: wrkCPU / wall, OtherCPU: max(other-wrkCPU/wall, 0)}
	for _, c := range cpu {
		ph.ServerCPU += c
	}
	if sink != nil {
		ph.Delivered = float64(sink.count.Load()-base) / w.Seconds
		ok := w.Requests - w.Non2xx
		poll(s.o.drain, func() (bool, error) { return sink.count.Load()-base >= ok, ctx.Err() }) // what is left after it is the ratio's shortfall
		if ok > 0 {
			ph.DelRatio = float64(sink.count.Load()-base) / float64(ok)
		}
	}
	return ph, nil
}

func (s *scenario) peersOnce(ctx context.Context, n int) (peerRun, error) {
	r := peerRun{N: n}
	d, e2e := s.o.duration, s.o.e2eDuration
	var err error

	// The ceiling, driven by wrk like everything below.
	addr, _ := freeAddr()
	cp, err := startProc("ceiling", filepath.Join(s.work, "ceiling.log"), s.o.bin, "bench", "ceiling", "-listen", addr)
	if err != nil {
		return r, err
	}
	if err = waitListen(cp, addr, 30*time.Second); err == nil {
		r.Ceiling, err = s.measure(ctx, "native.lua", "http://"+addr+"/gateway/v1/messages", d, nil, cp.pid())
	}
	cp.stop(5 * time.Second)
	if err != nil {
		return r, fmt.Errorf("ceiling: %w", err)
	}
	s.logf("run %d: ceiling (wrk) %.0f/s", n, r.Ceiling.OKPerS)

	// Kannel accepting while its SMSC is down, then end to end to the sink.
	down, _ := freeAddr()
	k, err := s.startKannel(filepath.Join(s.work, fmt.Sprintf("run%d-kannel-accept", n)), down)
	if err != nil {
		return r, fmt.Errorf("kannel: %w", err)
	}
	r.Kannel, err = s.measure(ctx, "sendsms.lua", k.sendURL, d, nil, k.pids()...)
	k.stop()
	if err != nil {
		return r, fmt.Errorf("kannel accept: %w", err)
	}
	s.logf("  kannel accept %.0f/s  p50 %.2f ms  p99 %.2f ms  non-2xx %d", r.Kannel.OKPerS, r.Kannel.P50Ms, r.Kannel.P99Ms, r.Kannel.Non2xx)
	if r.KannelE2E, err = s.peerE2E(ctx, n, "kannel", e2e); err != nil {
		return r, fmt.Errorf("kannel end to end: %w", err)
	}

	// Switchboard, the same way: upstream down for accepts, then to the sink.
	for _, a := range []struct {
		dst                      *peerPhase
		script, path, durability string
	}{
		{&r.Native, "native.lua", "/gateway/v1/messages", "always"},
		{&r.Wavy, "wavy.lua", "/", "always"},
		{&r.Interval, "native.lua", "/gateway/v1/messages", "interval"},
	} {
		g, err := s.gatewayWith(fmt.Sprintf("run%d-peers-%s-%s", n, strings.TrimSuffix(a.script, ".lua"), a.durability), down, badgerQueue(a.durability))
		if err != nil {
			return r, err
		}
		*a.dst, err = s.measure(ctx, a.script, g.url(a.path), d, nil, g.pid())
		g.stop(30 * time.Second)
		if err != nil {
			return r, fmt.Errorf("switchboard %s: %w", a.script, err)
		}
		s.logf("  switchboard %s (durability %s) accept %.0f/s  p50 %.2f ms  p99 %.2f ms  non-2xx %d",
			a.script, a.durability, a.dst.OKPerS, a.dst.P50Ms, a.dst.P99Ms, a.dst.Non2xx)
	}
	if r.NativeE2E, err = s.peerE2E(ctx, n, "switchboard", e2e); err != nil {
		return r, fmt.Errorf("switchboard end to end: %w", err)
	}
	return r, nil
}

// peerE2E measures who ("kannel" or "switchboard") delivering to a live sink.
func (s *scenario) peerE2E(ctx context.Context, n int, who string, d time.Duration) (peerPhase, error) {
	addr, err := freeAddr()
	if err != nil {
		return peerPhase{}, err
	}
	sink, err := startCountSink(addr)
	if err != nil {
		return peerPhase{}, err
	}
	defer sink.close()
	dir := filepath.Join(s.work, fmt.Sprintf("run%d-%s-e2e", n, who))
	script, url, pids := "native.lua", "", []int(nil)
	if who == "kannel" {
		k, err := s.startKannel(dir, addr)
		if err != nil {
			return peerPhase{}, err
		}
		defer k.stop()
		// The probe message proves the path to the sink before the load starts.
		if _, err := sink.waitFirst(30 * time.Second); err != nil {
			return peerPhase{}, err
		}
		script, url, pids = "sendsms.lua", k.sendURL, k.pids()
	} else {
		g, err := s.gateway(filepath.Base(dir), addr)
		if err != nil {
			return peerPhase{}, err
		}
		defer g.stop(30 * time.Second)
		url, pids = g.url("/gateway/v1/messages"), []int{g.pid()}
	}
	ph, err := s.measure(ctx, script, url, d, sink, pids...)
	if err == nil {
		s.logf("  %s end to end: delivered %.0f/s during the load, accepted %.0f/s, %.1f%% delivered after the drain",
			who, ph.Delivered, ph.OKPerS, 100*ph.DelRatio)
	}
	return ph, err
}

// runPeers is `make bench-peers`: Kannel and Switchboard under the same wrk load.
func runPeers(ctx context.Context, o options) error {
	for _, b := range []string{"bearerbox", "smsbox", "wrk"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install -y kannel wrk)", b)
		}
	}
	s, cleanup, err := newScenario(o)
	if err != nil {
		return err
	}
	info := machine() + "; " + kannelVersion()
	s.logf("bench peers: %s", info)
	began := time.Now()
	var runs []peerRun
	for n := 1; n <= o.runs; n++ {
		r, err := s.peersOnce(ctx, n)
		if err != nil {
			return fmt.Errorf("run %d: %w (logs in %s)", n, err, s.work)
		}
		runs = append(runs, r)
	}
	cleanup()
	text := peersText(o, info, runs, time.Since(began))
	fmt.Println()
	fmt.Print(text)
	return s.save("peers", "Switchboard vs Kannel", info, text, peerTable(runs), runs)
}

func kannelVersion() string {
	var vs []string
	for _, p := range []string{"kannel", "wrk"} {
		v, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", p).Output()
		if err != nil || len(v) == 0 {
			v = []byte("version unknown")
		}
		vs = append(vs, p+" "+string(v))
	}
	return strings.Join(vs, ", ")
}
