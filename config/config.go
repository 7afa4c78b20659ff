// Package config is Switchboard's one configuration file: typed structs with a doc comment
// for every key, defaults, loading from YAML with ${VAR} expansion, and validation that
// reports every problem at once with its path and line.
//
// Construction does no I/O beyond reading the file it is given and, to check time zones,
// the time-zone database.
package config

import "time"

// Duration is a time.Duration written in YAML as "5s", "10m", "72h".
type Duration time.Duration

// Config is the whole file.
type Config struct {
	// Listen is the one address serving every dialect, the native API, admin and metrics.
	Listen string `yaml:"listen"`
	// TLS, when set, serves Listen over HTTPS.
	TLS TLS `yaml:"tls"`
	// DataDir holds the Badger queue (not used with queue.backend nats).
	DataDir string `yaml:"data_dir"`
	// AdminToken is the Bearer token for /admin/*. Empty disables the admin API.
	AdminToken string `yaml:"admin_token"`
	// MaxBodyBytes is the largest request body accepted; larger ones get 413.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// Shutdown is how a stop (SIGTERM, SIGINT) goes.
	Shutdown Shutdown `yaml:"shutdown"`
	// WatchConfig, when set, is how often the config file is read to see whether it changed,
	// reloading it when it did (as SIGHUP does). 0 (the default): reload on SIGHUP or
	// POST /admin/v1/reload only. Turning it on or off takes a restart.
	WatchConfig Duration `yaml:"watch_config"`

	Queue   Queue   `yaml:"queue"`
	Retry   Retry   `yaml:"retry"`
	Breaker Breaker `yaml:"breaker"`
	// Callbacks tunes how status callbacks are posted to tenants (each tenant's
	// callbacks.url says where).
	Callbacks CallbackDelivery `yaml:"callbacks"`
	Tenants   []Tenant         `yaml:"tenants"`
	Upstreams []Upstream       `yaml:"upstreams"`
	Routes    []Route          `yaml:"routes"`
	Templates []Template       `yaml:"templates"`
	// TemplateLanguage is the language of a template named without one (FlowBot's
	// bulk-send has no language field) when it is rendered as text; a tenant's own
	// template_language comes first. Unset: the only language the catalogue has the
	// template in.
	TemplateLanguage string `yaml:"template_language"`
	// TemplateGroups pick one template of several (FlowBot's template groups).
	TemplateGroups []TemplateGroup `yaml:"template_groups"`
	// Dialects are the dialect-wide options, one section per dialect under its name
	// (messageflow:, wavy: ...), each decoded and checked by its vendor's package.
	Dialects map[string]Section `yaml:",rest"`

	// Kept by Parse so that Validate can name lines and unset variables.
	file  string
	lines map[string]int
	unset map[string]string
}

// TLS is the listener's certificate. Both files are read at start and again on every reload
// (SIGHUP), so a renewed certificate needs no restart; turning TLS on or off needs one.
type TLS struct {
	// Cert is a PEM file: the certificate, then its chain.
	Cert string `yaml:"cert"`
	// Key is the certificate's private key (PEM).
	Key string `yaml:"key"`
}

// Shutdown is a graceful stop: first /readyz answers 503 for Drain while every request is
// still served, so a load balancer probing it takes the gateway out of rotation; then the
// listener closes, requests in progress finish, sends in flight finish or go back to the
// queue, and the queue closes, all within Timeout.
type Shutdown struct {
	// Drain is how long /readyz answers 503 before the listener closes: at least a load
	// balancer's probe interval times its unhealthy threshold. 0 closes at once.
	Drain Duration `yaml:"drain"`
	// Timeout bounds the rest of the stop: requests in progress and sends in flight.
	Timeout Duration `yaml:"timeout"`
}

// Queue tunes the durable queue.
type Queue struct {
	// Backend is "badger" (the embedded queue in data_dir, one gateway; the default) or
	// "nats" (a NATS JetStream cluster that several gateways share; see Nats). With nats,
	// durability, sync_interval, gc_interval and memory_mb do not apply: durability is the
	// stream's (its replicas, and the servers' own sync settings).
	Backend string `yaml:"backend"`
	// Durability is "always" (fsync before answering, group-committed) or "interval"
	// (sync every SyncInterval: faster, may lose the last interval on power loss).
	Durability string `yaml:"durability"`
	// SyncInterval is how often "interval" durability syncs.
	SyncInterval Duration `yaml:"sync_interval"`
	// MaxDepth is the most live messages; beyond it ingress answers "try later".
	MaxDepth int64 `yaml:"max_depth"`
	// Retention is how long status records and idempotency keys are kept.
	Retention Duration `yaml:"retention"`
	// GCInterval is how often Badger's value log is garbage-collected.
	GCInterval Duration `yaml:"gc_interval"`
	// MemoryMB bounds Badger's caches and memtables, roughly.
	MemoryMB int `yaml:"memory_mb"`
	// DiskReserveBytes and DiskReservePercent (of data_dir's filesystem) are the free space
	// below which new messages are refused with "try later" while everything already
	// accepted is still delivered; the larger of the two applies, 0 turns one off. Badger
	// writes through mmaps, and a write that finds the disk full kills the process.
	DiskReserveBytes   int64   `yaml:"disk_reserve_bytes"`
	DiskReservePercent float64 `yaml:"disk_reserve_percent"`
	// Nats configures the "nats" backend.
	Nats Nats `yaml:"nats"`
}

// Nats is the JetStream queue backend. Messages wait in a work-queue stream that every
// gateway leases from through one shared durable consumer; status records, idempotency
// keys and indexes live in a key-value bucket, so any gateway answers for any message.
// The streams, bucket and consumer are created (or updated) at startup.
type Nats struct {
	// Servers are the URLs of the NATS servers (nats://host:4222, tls://host:4222). List
	// several members of the cluster: the gateway reconnects to another when one goes.
	Servers []string `yaml:"servers"`
	// CredentialsFile is a NATS credentials file (user JWT and NKey seed).
	CredentialsFile string `yaml:"credentials_file"`
	// User and Password authenticate with a user name and password.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// Token authenticates with a token.
	Token string `yaml:"token"`
	// TLS verifies the servers with a CA of your own and presents a client certificate.
	TLS NatsTLS `yaml:"tls"`
	// Stream names the work-queue stream (subjects <stream>.msg.* and <stream>.sched.*);
	// dead letters go to <stream>_DEAD and the status-change feed to <stream>_FEED.
	Stream string `yaml:"stream"`
	// Bucket names the key-value bucket of status records and idempotency keys (kept for
	// queue.retention); message Seqs are handed out from <bucket>_seq.
	Bucket string `yaml:"bucket"`
	// Replicas is how many servers hold each stream and the bucket (1, 3 or 5; at most the
	// cluster's size). A 2xx answer means a majority of them have the message.
	Replicas int `yaml:"replicas"`
	// Shards is how many work streams new messages are spread over: <stream> and
	// <stream>_1 .. <stream>_<shards-1>, each with its own consumer. With the servers'
	// sync_interval: always, one stream's fsyncs are serial and several streams' are not
	// (8 accepts about 3 times as much); with their default sync, more streams cost the
	// servers CPU. Every shard stream that exists is consumed: lowering it drains the
	// streams beyond (so a stream named <stream>_<n> belongs to this queue: name no other
	// queue's stream so). Raise it once every gateway of the queue runs a version that has it.
	Shards int `yaml:"shards"`
	// AckWait is how long a leased message may go without news before JetStream gives it
	// to another gateway: the time to notice a gateway that died. A live gateway keeps its
	// leases alive however long a send takes.
	AckWait Duration `yaml:"ack_wait"`
	// MaxDeliver is how many times JetStream delivers a message before giving up on it; the
	// gateway then dead-letters it. Attempts are counted by retry.max_attempts: this is a
	// backstop for a message that is leased and never answered (say, one that crashes the
	// gateway). Retries count, releases (open breakers, busy upstreams, sending windows) do
	// not; it must be more than retry.max_attempts. -1 means no limit.
	MaxDeliver int `yaml:"max_deliver"`
}

// NatsTLS is the TLS setup toward NATS; empty fields use the system's roots and no
// client certificate.
type NatsTLS struct {
	// CA is a PEM file of the CAs that sign the servers' certificates.
	CA string `yaml:"ca"`
	// Cert and Key are the client certificate and its key (PEM), for servers that verify clients.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Retry is the backoff for failed attempts.
type Retry struct {
	// MaxAttempts before a message is dead-lettered.
	MaxAttempts int `yaml:"max_attempts"`
	// InitialBackoff is the wait after the first failure; it doubles (with jitter) after each.
	InitialBackoff Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait.
	MaxBackoff Duration `yaml:"max_backoff"`
}

// Breaker is the circuit breaker of each upstream (an upstream may override it).
type Breaker struct {
	// Window is the rolling window over which failures are counted.
	Window Duration `yaml:"window"`
	// ConsecutiveFailures trips the breaker.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// FailureRatio trips the breaker once MinRequests were seen in the window.
	FailureRatio float64 `yaml:"failure_ratio"`
	// MinRequests before FailureRatio applies.
	MinRequests int `yaml:"min_requests"`
	// OpenFor is how long a tripped breaker stays open before probing.
	OpenFor Duration `yaml:"open_for"`
	// HalfOpenProbes is how many requests a half-open breaker lets through.
	HalfOpenProbes int `yaml:"half_open_probes"`
}

// CallbackDelivery tunes the posting of status callbacks. Callbacks are durable: they are
// driven by the queue's change feed, each tenant with a cursor of its own, so a receiver
// that is down gets everything once it is back (within queue.retention), and never slows
// sending. README.md, "Callbacks out", describes what is posted.
type CallbackDelivery struct {
	// Timeout bounds one callback request.
	Timeout Duration `yaml:"timeout"`
	// MaxAttempts is how many times a callback is tried before it is dead-lettered (listed at
	// GET /admin/v1/callbacks/dead, replayable).
	MaxAttempts int `yaml:"max_attempts"`
	// InitialBackoff and MaxBackoff bound the wait between attempts (exponential, with jitter).
	InitialBackoff Duration `yaml:"initial_backoff"`
	MaxBackoff     Duration `yaml:"max_backoff"`
	// MaxConcurrent bounds callback requests in flight over all tenants; PerTenant bounds
	// them per tenant, so one slow receiver cannot take every slot.
	MaxConcurrent int `yaml:"max_concurrent"`
	PerTenant     int `yaml:"per_tenant"`
}

// Tenant is one customer and the credentials it uses in each dialect.
type Tenant struct {
	// ID names the tenant in routes, records and metrics.
	ID string `yaml:"id"`
	// RatePerSecond limits the tenant's ingress requests (0: no limit); Burst allows short
	// peaks (default: one second's worth).
	RatePerSecond float64 `yaml:"rate_per_second"`
	Burst         int     `yaml:"burst"`
	// DefaultCountryCode ("972") is used for local numbers when a request gives none.
	DefaultCountryCode string `yaml:"default_country_code"`
	// SendingHours holds messages accepted outside these hours until the window opens
	// (MessageFlow's "allowed hours").
	SendingHours *SendingHours `yaml:"sending_hours"`
	// Callbacks are where status changes are posted (in the dialect the message came in with).
	Callbacks Callbacks `yaml:"callbacks"`
	// OptOut is the words that put a recipient on the tenant's opt-out list (optout.go).
	OptOut OptOut `yaml:"opt_out"`
	// Replies are where the recipients' replies are posted (README.md, "Replies").
	Replies TenantReplies `yaml:"replies"`
	// TemplateLanguage is the language of this tenant's templates named without one, before
	// the config's template_language.
	TemplateLanguage string `yaml:"template_language"`
	// Dialects are the tenant's credentials, one section per dialect its clients speak
	// (messageflow:, wavy: ...), each decoded and checked by its vendor's package.
	Dialects map[string]Section `yaml:",rest"`
}

// SendingHours is a daily window in a time zone.
type SendingHours struct {
	// TimeZone is an IANA name, e.g. Asia/Jerusalem.
	TimeZone string `yaml:"time_zone"`
	// Start and End are whole hours, 0-23; the window is [Start, End).
	Start int `yaml:"start"`
	End   int `yaml:"end"`
}

// Callbacks are a tenant's status callback URLs.
type Callbacks struct {
	// URL receives every status change in the dialect the message came in with: Wavy's
	// sent-status callback for Wavy messages, the native status JSON for the others. Empty:
	// no callbacks. The first time callbacks run for a tenant they start with the changes
	// from then on, not the retained history.
	URL string `yaml:"url"`
	// DeliveryURL receives Wavy delivery receipts (defaults to URL).
	DeliveryURL string `yaml:"delivery_url"`
	// Secret signs every callback: X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the
	// body>.
	Secret string `yaml:"secret"`
}

// TenantReplies is where a tenant's replies go. Replies are durable and posted like status
// callbacks (the callbacks section tunes both), each signed with callbacks.secret; they can
// also be pulled (GET /gateway/v1/replies, Wavy's receive/list and receive/search).
type TenantReplies struct {
	// URL receives every reply, in the dialect of the message it answers (Wavy's MO push
	// for Wavy messages, Switchboard's reply JSON for the others). Empty: replies are only
	// pulled. The first time replies are posted for a tenant they start with the replies
	// from then on.
	URL string `yaml:"url"`
	// Dialect is the shape of a reply that answers no message Switchboard knows (native,
	// messageflow, multiwhats, wavy, flowbot). Empty: native.
	Dialect string `yaml:"dialect"`
}

// UpstreamReplies says which tenant owns the replies an upstream posts, by the business
// line (phone number id, short code, sender number) they arrived on. A reply on a line no
// tenant owns is counted and dropped, never delivered.
type UpstreamReplies struct {
	// Tenant owns the replies of every line not listed in Lines ("": none).
	Tenant string `yaml:"tenant"`
	// Lines maps a line to the tenant that owns its replies.
	Lines map[string]string `yaml:"lines"`
}

// Upstream is a provider messages are forwarded to.
type Upstream struct {
	// Name is how routes refer to it.
	Name string `yaml:"name"`
	// Dialect is messageflow, multiwhats, wavy, flowbot, whatsappcloud, http or sandbox.
	Dialect string `yaml:"dialect"`
	// URL is the upstream's base URL (or, for http, the URL messages are POSTed to).
	URL string `yaml:"url"`
	// Credentials are dialect-specific: uuid, apikey, username/token, client_id/api_key,
	// token and phone_number_id, bearer. For the receipts the upstream posts back to
	// /receipts/{name}: whatsappcloud's app_secret (checks X-Hub-Signature-256; required to
	// take its status webhooks) and verify_token (the subscription handshake); every other
	// dialect's receipt_token (required as a Bearer token or ?token=; check refuses an
	// upstream without one unless Receipts is "open").
	Credentials map[string]string `yaml:"credentials"`
	// Receipts "open" takes the receipts posted to /receipts/{name} without authentication,
	// from anyone who can reach the gateway, with a warning at check and at start; only for
	// an upstream without a receipt_token. Empty (the default): receipts are authenticated.
	Receipts string `yaml:"receipts"`
	// Timeout bounds one request (default 5s).
	Timeout Duration `yaml:"timeout"`
	// MaxConns is the most concurrent requests to this upstream (default 64).
	MaxConns int `yaml:"max_conns"`
	// RatePerSecond caps messages per second (0: no cap).
	RatePerSecond float64 `yaml:"rate_per_second"`
	// Proxy is the proxy requests to this upstream go through: http://[user:pass@]host:port
	// (CONNECT) or socks5://host:port; "direct" for none. Empty: HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY from the environment (loopback addresses are never proxied).
	Proxy string `yaml:"proxy"`
	// Breaker overrides the global breaker settings for this upstream; keys it leaves out
	// keep the global values.
	Breaker *Breaker `yaml:"breaker"`
	// Replies says which tenants own the replies the upstream posts to /receipts/{name};
	// without it, its replies are refused.
	Replies *UpstreamReplies `yaml:"replies"`
}

// Route sends matching messages to upstreams. Routes are tried in order; the first match wins.
type Route struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Upstreams is the failover order.
	Upstreams []string `yaml:"upstreams"`
	// Split spreads recipients between upstreams by weight, sticky per recipient.
	Split []SplitTarget `yaml:"split"`
	// Mirror gets a shadow copy of every message; its result never affects the message.
	Mirror string `yaml:"mirror"`
	// Degrade is what to do with content an upstream cannot carry: "degrade" (render it as
	// text; the default), "next" (try the next upstream that can) or "fail".
	Degrade string `yaml:"degrade"`
	// ForeignFlow is what degrading does with a flow named in another vendor's dialect (a
	// Wavy flow routed to FlowBot), which no text can render: "fail" (the default) or
	// "text" (send the message's text alone, without the flow and its variables).
	ForeignFlow string `yaml:"foreign_flow"`
	// LongText is what to do with a text over an upstream's limit (Wavy's 1280 characters):
	// "split" (the default: numbered parts "(1/3) ..." in one request, for an upstream that
	// can send several messages at once) or "fail".
	LongText string `yaml:"long_text"`
	// ReceiptTimeout, when set (at least 1s), resends a sent message through the next
	// upstream of the route if no delivery receipt (delivered, read or failed) arrives in
	// time. Off by default; the route needs a second upstream.
	ReceiptTimeout Duration `yaml:"receipt_timeout"`
}

// Match selects messages; an empty field matches everything.
type Match struct {
	Tenants []string `yaml:"tenants"`
	// Dialects are ingress dialects: messageflow, multiwhats, wavy, flowbot, native.
	Dialects []string `yaml:"dialects"`
	// ToPrefixes are leading digits of the E.164 destination ("972", "97250"); a leading
	// "+" is dropped.
	ToPrefixes []string `yaml:"to_prefixes"`
	Channels   []string `yaml:"channels"`
	Kinds      []string `yaml:"kinds"`
}

// SplitTarget is one upstream of a split and its weight (0: staged, takes no traffic).
type SplitTarget struct {
	Upstream string `yaml:"upstream"`
	Weight   int    `yaml:"weight"`
}

// Template is a catalogue entry used to render templates as text for upstreams without them.
type Template struct {
	Name     string `yaml:"name"`
	Language string `yaml:"language"`
	// Body has {{1}}-style placeholders.
	Body string `yaml:"body"`
}

// TemplateGroup is several templates and how one is picked.
type TemplateGroup struct {
	ID string `yaml:"id"`
	// Strategy is preferred_then_others (the default: the first template, then the others
	// in order), round_robin or random.
	Strategy  string   `yaml:"strategy"`
	Templates []string `yaml:"templates"`
}
