// Package natsserver starts an embedded NATS server (nats-server/v2) for
// the one-command mode, the standalone `podmedic nats` command and tests.
// It never listens beyond the host it is given.
package natsserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultMaxPayload is the largest message the embedded server accepts:
// 8 MiB instead of NATS's 1 MiB default, so that a large rollout or policy
// snapshot fits in one message. Senders still check the connection's
// MaxPayload and refuse what does not fit.
const DefaultMaxPayload = 8 << 20

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
}

// Start runs a server and waits until it accepts connections.
// The caller stops it with Shutdown and WaitForShutdown.
func Start(cfg Config) (*server.Server, error) {
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
	// The server reports a port it cannot listen on only by never becoming
	// ready; try the ports first, so that a taken one is said at once.
	for _, p := range []struct {
		what string
		port int
	}{{"client", opts.Port}, {"monitoring", opts.HTTPPort}} {
		if p.port <= 0 {
			continue
		}
		addr := net.JoinHostPort(cfg.Host, strconv.Itoa(p.port))
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
		return nil, fmt.Errorf("natsserver: not ready after 10s on %s:%d (port in use?)", cfg.Host, opts.Port)
	}
	return ns, nil
}
