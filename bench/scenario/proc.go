package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/internal/loopback"
)

// proc is a child process: a gateway, the ceiling, Kannel's boxes or wrk.
type proc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	log     *os.File
}

// startProc runs bin with args, its output appended to logPath. The child is killed if the
// scenario dies, so an interrupted bench leaves no gateway behind.
func startProc(name, logPath, bin string, args ...string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = childAttr()
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: lf}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	go func() {
		cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end (SIGTERM) and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// freeAddr returns a loopback address nothing listens on yet, reserved for the life of the
// harness (loopback.Reserve): no other process is given it meanwhile, so the server the
// harness starts on it, or starts again after a kill, gets it; an upstream that is down is
// one of these that nothing listens on. A bench reserves a few hundred at most.
func freeAddr() (string, error) {
	addr, _, err := loopback.Reserve()
	return addr, err
}

var httpClient = &fasthttp.Client{ReadTimeout: 30 * time.Second, WriteTimeout: 10 * time.Second}

// httpGet returns the status and body of a GET, with an optional bearer token.
func httpGet(url, bearer string, timeout time.Duration) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if err := httpClient.DoTimeout(req, resp, timeout); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// pollEvery is how often the harness looks at what it waits for (a port, an answer, a
// count): short beside any of its waits, long enough not to take CPU from what it measures.
const pollEvery = 5 * time.Millisecond

// poll calls cond every pollEvery until it reports true or an error, or until limit passes:
// it reports whether cond held.
func poll(limit time.Duration, cond func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if ok || err != nil {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(pollEvery)
	}
}

// exitedErr is the error of a wait on p when p has exited (nil while it runs, or for no p).
func exitedErr(p *proc, what string) error {
	if p != nil && p.exited() {
		return fmt.Errorf("%s exited before %s (see %s)", p.name, what, p.log.Name())
	}
	return nil
}

// waitStatus polls url until it answers want, p exits, or limit passes, and returns when
// it first answered want.
func waitStatus(p *proc, url string, want int, limit time.Duration) (time.Time, error) {
	var at time.Time
	ok, err := poll(limit, func() (bool, error) {
		if err := exitedErr(p, fmt.Sprintf("%s answered %d", url, want)); err != nil {
			return false, err
		}
		code, _, _ := httpGet(url, "", time.Second)
		at = time.Now()
		return code == want, nil
	})
	if err == nil && !ok {
		err = fmt.Errorf("%s did not answer %d within %s", url, want, limit)
	}
	return at, err
}

// startListening starts bin with args, a server that listens on addr, and waits until it
// accepts connections; it kills the process when it does not.
func startListening(name, logPath, bin, addr string, args ...string) (*proc, error) {
	p, err := startProc(name, logPath, bin, args...)
	if err != nil {
		return nil, err
	}
	if err := waitListen(p, addr, 30*time.Second); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// waitListen polls addr until it accepts a TCP connection.
func waitListen(p *proc, addr string, limit time.Duration) error {
	ok, err := poll(limit, func() (bool, error) {
		if err := exitedErr(p, "listening on "+addr); err != nil {
			return false, err
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil, nil
	})
	if err == nil && !ok {
		err = fmt.Errorf("nothing listens on %s after %s", addr, limit)
	}
	return err
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	v, err := procStatus(pid, "VmHWM:")
	return v[0], err
}

// procStatus reads the named fields (in kB) of /proc/PID/status, in bytes.
func procStatus(pid int, names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, err
	}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i, n := range names {
			if len(f) >= 2 && f[0] == n {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				out[i] = kb << 10
				found++
			}
		}
	}
	if found < len(names) {
		return out, fmt.Errorf("not all of %v in /proc/%d/status", names, pid)
	}
	return out, nil
}

// rssSampler follows a process's resident memory while a phase runs: VmHWM alone does not
// say whether the peak was the process's own memory (RssAnon: Go heap, stacks) or pages of
// files it maps (RssFile: Badger's memory-mapped tables and logs, which the kernel may drop).
type rssSampler struct {
	stop      chan struct{}
	done      chan struct{}
	anon, fil int64
}

func sampleRSS(pid int) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procStatus(pid, "RssAnon:", "RssFile:"); err == nil {
				r.anon, r.fil = max(r.anon, v[0]), max(r.fil, v[1])
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// peaks stops the sampler and returns the highest anonymous and file-backed RSS seen.
func (r *rssSampler) peaks() (anon, file int64) {
	close(r.stop)
	<-r.done
	return r.anon, r.fil
}

// clockTick is USER_HZ, the unit of /proc CPU times; 100 on every Linux we run on.
const clockTick = 100

// procCPU is the CPU time a process used so far (user + system), in seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields are counted after its closing parenthesis.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTick
}

// selfCPU is the CPU time of this process (the load generator), in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// machineBusy is the CPU time every core of the machine spent not idle, in seconds.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	var busy float64
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy / clockTick
}

// cpuMeter measures, over one phase, the cores used by the processes of the bench and by
// everything else on the machine: other work on a shared machine skews every figure.
type cpuMeter struct {
	pids  []int
	start time.Time
	proc0 []float64
	self0 float64
	busy0 float64
}

func meterCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: time.Now(), self0: selfCPU(), busy0: machineBusy()}
	for _, pid := range pids {
		m.proc0 = append(m.proc0, procCPU(pid))
	}
	return m
}

// usage returns the cores used on average since meterCPU by each pid, by this process, and
// by everything else.
func (m *cpuMeter) usage() (procs []float64, self, other float64) {
	wall := time.Since(m.start).Seconds()
	if wall <= 0 {
		return nil, 0, 0
	}
	ours := 0.0
	for i, pid := range m.pids {
		d := procCPU(pid) - m.proc0[i]
		procs = append(procs, d/wall)
		ours += d
	}
	s := selfCPU() - m.self0
	ours += s
	other = max(machineBusy()-m.busy0-ours, 0) / wall
	return procs, s / wall, other
}
