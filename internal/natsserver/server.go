// Package natsserver starts an embedded NATS server (nats-server/v2) for
// the one-command mode, the standalone `podmedic nats` command and tests:
// a single server, or one node of a cluster joined by routes, with or
// without JetStream. It never listens beyond the host it is given.
package natsserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultMaxPayload is the largest message the embedded server accepts:
// 8 MiB instead of NATS's 1 MiB default, so that a large rollout or policy
// snapshot fits in one message. Senders still check the connection's
// MaxPayload and refuse what does not fit.
const DefaultMaxPayload = 8 << 20

// DefaultClusterName is the cluster name of nodes started with a Cluster
// address and no ClusterName.
const DefaultClusterName = "podmedic"

// Config describes an embedded server.
type Config struct {
	// Host to listen on; default "127.0.0.1".
	Host string
	// Port for clients; 0 picks the NATS default 4222, -1 a random free port.
	Port int
	// HTTPPort for the monitoring endpoint (/varz, /connz); 0 disables it.
	HTTPPort int
	// MaxPayload in bytes; 0 means DefaultMaxPayload.
	MaxPayload int32
	// Token, if set, is required of every client (token authentication).
	Token string
	// User and Password, if set, are required of every client.
	User, Password string
	// Debug turns on the server's own logging to stderr.
	Debug bool

	// ServerName names this node; nodes of a JetStream cluster need unique
	// names that stay the same across restarts. Default: the host name.
	ServerName string
	// Cluster is the address routes from other nodes connect to
	// ("host:port", or "nats://host:port"; port -1 picks a free one);
	// "" runs a single server.
	Cluster string
	// ClusterName is the name every node of the cluster shares; default
	// DefaultClusterName.
	ClusterName string
	// Routes are the other nodes' cluster addresses ("host:port" or
	// "nats-route://host:port"); listing this node itself is harmless, so
	// every node may be given the same list.
	Routes []string
	// JetStreamDir, if set, enables JetStream with its files under this
	// directory (created if missing).
	JetStreamDir string
	// JetStreamMaxStore bounds JetStream's file storage in bytes; 0 lets
	// the server choose (a share of the free disk).
	JetStreamMaxStore int64

	// ConfigFile, if set, is a nats-server configuration file that
	// describes the server entirely (listen addresses, accounts and users,
	// TLS, cluster, JetStream); the fields above except Debug must then be
	// zero. `podmedic nats --config` runs the very files the official
	// image runs.
	ConfigFile string
}

// Start runs a server and waits until it accepts connections. With
// JetStream in a cluster it does not wait for the cluster to elect a
// JetStream leader (the other nodes may start later): WaitJetStream does.
// The caller stops it with Shutdown and WaitForShutdown.
func Start(cfg Config) (*server.Server, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	// The server reports a port it cannot listen on only by never becoming
	// ready; try the ports first, so that a taken one is said at once.
	for _, p := range []struct {
		what, host string
		port       int
	}{{"client", opts.Host, opts.Port}, {"monitoring", opts.HTTPHost, opts.HTTPPort}, {"cluster", opts.Cluster.Host, opts.Cluster.Port}} {
		if p.port <= 0 {
			continue
		}
		addr := net.JoinHostPort(p.host, strconv.Itoa(p.port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("natsserver: %s port: cannot listen on %s: %w", p.what, addr, err)
		}
		ln.Close()
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsserver: new server: %w", err)
	}
	if cfg.Debug {
		ns.ConfigureLogger()
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("natsserver: not ready after 10s on %s:%d (port in use?)", opts.Host, opts.Port)
	}
	return ns, nil
}

// options turns the config into server options.
func (cfg Config) options() (*server.Options, error) {
	if cfg.ConfigFile != "" {
		return cfg.fileOptions()
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.MaxPayload < 0 {
		return nil, errors.New("natsserver: max payload must be positive")
	}
	opts := &server.Options{
		Host:       cfg.Host,
		Port:       cfg.Port,
		HTTPHost:   cfg.Host,
		HTTPPort:   cfg.HTTPPort,
		MaxPayload: cfg.MaxPayload,
		// The default pending limit (64 MiB) must exceed max payload.
		MaxPending: 16 * int64(cfg.MaxPayload),
		NoSigs:     true,
		NoLog:      !cfg.Debug,
		ServerName: cfg.ServerName,
	}
	switch {
	case cfg.Token != "" && cfg.User != "":
		return nil, errors.New("natsserver: choose token or user/password authentication, not both")
	case cfg.Token != "":
		opts.Authorization = cfg.Token
	case cfg.User != "":
		opts.Username, opts.Password = cfg.User, cfg.Password
	}
	if cfg.Port == 0 {
		opts.Port = server.DEFAULT_PORT
	}
	if err := cfg.clusterOptions(opts); err != nil {
		return nil, err
	}
	if cfg.JetStreamDir != "" {
		if err := os.MkdirAll(cfg.JetStreamDir, 0o755); err != nil {
			return nil, fmt.Errorf("natsserver: jetstream dir: %w", err)
		}
		opts.JetStream, opts.StoreDir = true, cfg.JetStreamDir
		if cfg.JetStreamMaxStore < 0 {
			return nil, fmt.Errorf("natsserver: jetstream max store must be >= 0, got %d", cfg.JetStreamMaxStore)
		}
		opts.JetStreamMaxStore = cfg.JetStreamMaxStore
	} else if cfg.JetStreamMaxStore != 0 {
		return nil, errors.New("natsserver: jetstream max store needs a jetstream dir")
	}
	if opts.ServerName == "" && (opts.JetStream || opts.Cluster.Port != 0) {
		// JetStream's Raft groups know a node by its name: a generated one
		// would make a restarted node a stranger to its own streams.
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("natsserver: server name: %w", err)
		}
		opts.ServerName = h
	}
	return opts, nil
}

// clusterOptions fills in the cluster listener and the routes.
func (cfg Config) clusterOptions(opts *server.Options) error {
	if cfg.Cluster == "" {
		if len(cfg.Routes) > 0 {
			return errors.New("natsserver: routes need a cluster address for this node")
		}
		if cfg.ClusterName != "" {
			return errors.New("natsserver: a cluster name needs a cluster address")
		}
		return nil
	}
	host, port, err := splitHostPort(cfg.Cluster, "nats")
	if err != nil {
		return fmt.Errorf("natsserver: cluster address: %w", err)
	}
	opts.Cluster.Host, opts.Cluster.Port = host, port
	opts.Cluster.Name = cfg.ClusterName
	if opts.Cluster.Name == "" {
		opts.Cluster.Name = DefaultClusterName
	}
	for _, r := range cfg.Routes {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !strings.Contains(r, "://") {
			r = "nats-route://" + r
		}
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || u.Port() == "" {
			return fmt.Errorf("natsserver: route %q: want host:port or nats-route://host:port", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}

// splitHostPort parses "host:port" or "scheme://host:port" (port -1 allowed).
func splitHostPort(addr, scheme string) (string, int, error) {
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want host:port or %s://host:port", addr, scheme)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not in -1..65535", addr, p)
	}
	return host, port, nil
}

// fileOptions reads a nats-server configuration file.
func (cfg Config) fileOptions() (*server.Options, error) {
	rest := cfg
	rest.ConfigFile, rest.Debug = "", false
	if rest.Host != "" || rest.Port != 0 || rest.HTTPPort != 0 || rest.MaxPayload != 0 || rest.Token != "" ||
		rest.User != "" || rest.Password != "" || rest.ServerName != "" || rest.Cluster != "" ||
		rest.ClusterName != "" || len(rest.Routes) > 0 || rest.JetStreamDir != "" || rest.JetStreamMaxStore != 0 {
		return nil, fmt.Errorf("natsserver: config file %s describes the whole server: set nothing else", cfg.ConfigFile)
	}
	opts, err := server.ProcessConfigFile(cfg.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("natsserver: config file: %w", err)
	}
	opts.NoSigs = true
	opts.NoLog = !cfg.Debug
	return opts, nil
}

// WaitJetStream waits until ns serves JetStream: on a single server at
// once, in a cluster once the nodes have elected a meta leader and this
// node has caught up with it.
func WaitJetStream(ns *server.Server, timeout time.Duration) error {
	if !ns.JetStreamEnabled() {
		return fmt.Errorf("natsserver: %s runs without JetStream", ns.Name())
	}
	deadline := time.Now().Add(timeout)
	for {
		h := ns.Healthz(&server.HealthzOptions{JSMetaOnly: true})
		if h.Status == "ok" && ns.JetStreamEnabled() && ns.JetStreamIsCurrent() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natsserver: jetstream of %s not ready after %s: %s %s", ns.Name(), timeout, h.Status, h.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
