package ceiling

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/valyala/fasthttp"
)

// LogFile is the file in the -durable directory that every request body is appended to.
const LogFile = "requests.log"

// Log is the durable reference's write path: the least a server must do to answer only
// after a request is on disk. Every body is appended, behind a 4-byte little-endian length,
// to one file through a group commit: one writer takes every request waiting and writes
// them with one pwrite, then hands the group to one syncer, which makes every group
// waiting durable with one fdatasync and releases their callers. The writer goes on while
// the syncer syncs, so a write and a sync overlap.
type Log struct {
	f      *os.File
	fd     int
	off    int64
	mu     sync.Mutex
	cur    *group        // filling: its requests wait for the writer
	closed bool          // under mu
	wake   chan struct{} // the writer has a group to take
	quit   chan struct{}
	synced chan *group   // written, waiting for a sync
	done   chan struct{} // the syncer ended
	free   chan []byte   // buffers of released groups, for reuse
}

// group is the requests one pwrite writes; its callers wait for done.
type group struct {
	buf  []byte
	err  error
	done chan struct{}
}

// ErrClosed is what Append answers once the log is closed.
var ErrClosed = errors.New("ceiling: log closed")

// OpenLog creates dir if needed and appends to dir/LogFile.
func OpenLog(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Log{
		f: f, fd: int(f.Fd()), off: st.Size(),
		wake: make(chan struct{}, 1), quit: make(chan struct{}),
		synced: make(chan *group, 64), done: make(chan struct{}), free: make(chan []byte, 64),
	}
	l.cur = l.newGroup()
	go l.write()
	go l.sync()
	return l, nil
}

func (l *Log) newGroup() *group {
	g := &group{done: make(chan struct{})}
	select {
	case g.buf = <-l.free:
	default:
	}
	return g
}

// Append returns once b is written and fdatasync'd, or the write or sync failed.
func (l *Log) Append(b []byte) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	g := l.cur
	g.buf = binary.LittleEndian.AppendUint32(g.buf, uint32(len(b)))
	g.buf = append(g.buf, b...)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default: // the writer is already due to look
	}
	<-g.done
	return g.err
}

// write is the writer: it takes the filling group, starts a new one and writes the group
// taken at the end of the file. After quit it takes the last group and ends.
func (l *Log) write() {
	defer close(l.synced)
	for stop := false; !stop; {
		select {
		case <-l.wake:
		case <-l.quit:
			stop = true
		}
		l.mu.Lock()
		g := l.cur
		l.cur = l.newGroup()
		l.mu.Unlock()
		if len(g.buf) == 0 {
			continue
		}
		if _, g.err = l.f.WriteAt(g.buf, l.off); g.err == nil {
			l.off += int64(len(g.buf))
		}
		l.synced <- g
	}
}

// sync is the syncer: one fdatasync for every group written so far, then their callers go.
func (l *Log) sync() {
	defer close(l.done)
	var gs []*group
	for g := range l.synced {
		gs = append(gs[:0], g)
	more:
		for {
			select {
			case g, ok := <-l.synced:
				if !ok {
					break more
				}
				gs = append(gs, g)
			default:
				break more
			}
		}
		err := datasync(l.fd)
		for _, g := range gs {
			if g.err == nil {
				g.err = err
			}
			buf := g.buf[:0]
			close(g.done)
			select {
			case l.free <- buf:
			default:
			}
		}
	}
}

// Close stops the writer and the syncer and closes the file. Requests appended before it
// are written and synced first; later ones get ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	return l.f.Close()
}

// NewDurableServer returns a server that appends every request body to l, and answers Body
// once it is durable (500 if the write or sync failed); f, when not nil, then forwards the
// body. Close l (and f) after the server stops.
func NewDurableServer(l *Log, f *Forwarder) *fasthttp.Server {
	srv := NewServer()
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if err := l.Append(ctx.PostBody()); err != nil {
			ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
			return
		}
		Handler(ctx)
		if f != nil {
			f.Forward(ctx.PostBody())
		}
	}
	return srv
}
