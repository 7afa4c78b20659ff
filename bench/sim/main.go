package sim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Main runs `switchboard mock ARGS` and returns the exit code.
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dialect := fs.String("dialect", "", strings.Join(Dialects(), " | "))
	listen := fs.String("listen", "127.0.0.1:9001", "address to serve on")
	var f Faults
	fs.DurationVar(&f.Latency, "latency", 0, "added to every answer")
	fs.Float64Var(&f.FailRate, "fail-rate", 0, "fraction of requests that fail (0..1)")
	fs.StringVar(&f.Mode, "fail-mode", "5xx", "how they fail: 5xx, 500, 429 or hang")
	fs.Float64Var(&f.Capacity, "capacity", 0, "requests/s it can serve: past this rate requests queue and latency rises (0: no limit)")
	c := DefaultCredentials
	fs.StringVar(&c.UUID, "uuid", c.UUID, "messageflow: accepted UUID")
	fs.StringVar(&c.APIKey, "apikey", c.APIKey, "multiwhats: accepted apikey")
	fs.StringVar(&c.Username, "username", c.Username, "wavy: accepted username")
	fs.StringVar(&c.Token, "token", c.Token, "wavy: accepted authentication token")
	fs.StringVar(&c.ClientID, "client-id", c.ClientID, "flowbot: accepted clientId")
	fs.StringVar(&c.ClientAPIKey, "api-key", c.ClientAPIKey, "flowbot: accepted apiKey")
	fs.StringVar(&c.HMACSecret, "hmac-secret", c.HMACSecret, "flowbot: lead signature secret")
	fs.StringVar(&c.Bearer, "bearer", c.Bearer, "whatsappcloud and http: accepted access token")
	var rc Receipts
	fs.StringVar(&rc.URL, "receipts", "", "post receipts for what is accepted to this URL (the gateway's /receipts/{upstream})")
	fs.StringVar(&rc.Final, "receipts-final", "delivered", "receipts after sent: delivered, read, failed or none")
	fs.DurationVar(&rc.Delay, "receipts-delay", 10*time.Millisecond, "wait before each receipt")
	fs.StringVar(&rc.AppSecret, "app-secret", "", "whatsappcloud: signs the status webhooks")
	fs.StringVar(&rc.Token, "receipt-token", "", "sent as a Bearer token with each receipt")
	var rp Replies
	rate := fs.String("replies-rate", "", "post replies to accepted messages at N/s, each message at most once (needs -receipts)")
	kinds := fs.String("replies-kinds", "text", "reply kinds taken in turn: text, button, list, media (comma-separated)")
	fs.StringVar(&rp.Line, "reply-line", "", "business line replied to when a message names no sender (wavy, flowbot)")
	if fs.Parse(args) != nil {
		return 2
	}
	s, err := New(*dialect, c, f)
	if err == nil && rc.URL != "" {
		err = s.SetReceipts(rc)
	}
	if err == nil {
		rp.Rate, err = ParseRate(*rate)
		rp.Kinds = strings.Split(*kinds, ",")
	}
	if err == nil {
		err = s.SetReplies(rp)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mock:", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "mock:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); s.Close() }()
	fmt.Fprintf(stderr, "%s simulator on %s\n", *dialect, ln.Addr())
	if err := s.Serve(ln); err != nil {
		fmt.Fprintln(stderr, "mock:", err)
		return 1
	}
	return 0
}
