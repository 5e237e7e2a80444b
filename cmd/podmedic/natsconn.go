package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nats-io/nats.go"

	"podmedic/internal/ratelog"
)

// natsFlags are the connection flags shared by learner, actor and evaluate.
type natsFlags struct {
	url, user, password, token, nkey, creds string
	tlsCA, tlsCert, tlsKey                  string
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats-url", nats.DefaultURL, "NATS server URL(s), comma separated")
	fs.StringVar(&n.user, "nats-user", "", "user name for user/password authentication")
	fs.StringVar(&n.password, "nats-password", "", "password for user/password authentication")
	fs.StringVar(&n.token, "nats-token", "", "token authentication")
	fs.StringVar(&n.nkey, "nats-nkey", "", "path to an nkey seed file")
	fs.StringVar(&n.creds, "nats-creds", "", "path to a .creds file (JWT + nkey)")
	fs.StringVar(&n.tlsCA, "nats-tls-ca", "", "CA certificate file to verify the server")
	fs.StringVar(&n.tlsCert, "nats-tls-cert", "", "client certificate file (with --nats-tls-key)")
	fs.StringVar(&n.tlsKey, "nats-tls-key", "", "client key file (with --nats-tls-cert)")
}

func (n *natsFlags) validate() error {
	auth := 0
	for _, s := range []string{n.user, n.token, n.nkey, n.creds} {
		if s != "" {
			auth++
		}
	}
	switch {
	case auth > 1:
		return flagError{errors.New("choose one of --nats-user, --nats-token, --nats-nkey, --nats-creds")}
	case n.password != "" && n.user == "":
		return flagError{errors.New("--nats-password needs --nats-user")}
	case (n.tlsCert == "") != (n.tlsKey == ""):
		return flagError{errors.New("--nats-tls-cert and --nats-tls-key go together")}
	}
	return nil
}

// parse parses a command's flags, which include n's, refusing positional
// arguments and inconsistent connection flags.
func (n *natsFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	return n.validate()
}

// connectLogInterval bounds the lines about failed connection attempts
// (one attempt every 0.5-1.5 s while NATS is down): the first at once,
// then one per interval with the number left out.
const connectLogInterval = 30 * time.Second

// Client-side pings: nats.go's defaults (every 2 min, 2 outstanding) leave
// a client whose server vanished without closing the connection (a
// partitioned host, a frozen node) writing into a dead socket for 4
// minutes or more, and what it publishes then is lost. With a ping every
// pingInterval and at most maxPingsOut unanswered, the client notices in
// 6 to 9 s, fails over to another node of the cluster, and keeps what it
// publishes meanwhile in its reconnect buffer; the shipped server config
// finds vanished clients the same way (ping_interval 3s, ping_max 3).
const (
	pingInterval = 3 * time.Second
	maxPingsOut  = 2
)

// connect dials NATS with an unlimited reconnect budget (a learner or actor
// outlives a server restart), logging disconnects, failed attempts (rate
// limited) and reconnects, each naming the URL. It keeps retrying the
// first connection too, so processes may start before NATS.
func (n *natsFlags) connect(name string, log hclog.Logger, onReconnect func()) (*nats.Conn, error) {
	failures := ratelog.New(log, connectLogInterval, 1, nil)
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(32 << 20),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil { // our own Close or Drain
				log.Debug("nats connection closed")
				return
			}
			log.Warn("nats disconnected", "url", n.url, "error", err)
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			failures.Warn("connect", "cannot connect to NATS; retrying", "url", n.url, "error", err)
		}),
		nats.ConnectHandler(func(c *nats.Conn) {
			log.Info("nats connected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
			if onReconnect != nil {
				onReconnect()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Warn("nats async error", "subject", subj, "error", err)
		}),
	}
	switch {
	case n.user != "":
		opts = append(opts, nats.UserInfo(n.user, n.password))
	case n.token != "":
		opts = append(opts, nats.Token(n.token))
	case n.creds != "":
		opts = append(opts, nats.UserCredentials(n.creds))
	case n.nkey != "":
		opt, err := nats.NkeyOptionFromSeed(n.nkey)
		if err != nil {
			return nil, fmt.Errorf("read nkey seed %s: %w", n.nkey, err)
		}
		opts = append(opts, opt)
	}
	if n.tlsCA != "" {
		opts = append(opts, nats.RootCAs(n.tlsCA))
	}
	if n.tlsCert != "" {
		opts = append(opts, nats.ClientCert(n.tlsCert, n.tlsKey))
	}
	nc, err := nats.Connect(n.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", n.url, err)
	}
	return nc, nil
}

// waitForNATS waits until nc is connected, warning at the default level
// after 5 s and then with back-off (10, 20, 40 s ... up to 5 min) naming
// the URL; the failed attempts themselves are logged by connect. It
// returns ctx's error if ctx ends first.
func waitForNATS(ctx context.Context, nc *nats.Conn, url string, log hclog.Logger) error {
	start := time.Now()
	warnAt := 5 * time.Second
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for NATS at %s: %w", url, ctx.Err())
		case <-tick.C:
		}
		if waited := time.Since(start); waited >= warnAt {
			log.Warn("still not connected to NATS; is the server running and the URL right?",
				"url", url, "waited", waited.Round(time.Second), "status", nc.Status().String())
			warnAt = min(2*warnAt, 5*time.Minute)
		}
	}
	return nil
}
