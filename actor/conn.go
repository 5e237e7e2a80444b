package actor

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// conn is what an actor needs of its NATS connection. *nats.Conn provides
// it through natsConn; the actor's tests provide an in-memory one so that
// timeouts and back-off run on testing/synctest's clock.
type conn interface {
	// Publish sends data on subject (buffered by the client while
	// disconnected).
	Publish(subject string, data []byte) error
	// Request sends data on subject and returns the first reply's data.
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
	// Subscribe calls handle with the data of every message on subject,
	// one at a time, until the returned function unsubscribes.
	Subscribe(subject string, handle func(data []byte)) (unsubscribe func() error, err error)
	// IsConnected reports whether the connection is up.
	IsConnected() bool
	// MaxPayload is the server's message size limit (0 if unknown).
	MaxPayload() int64
	// Flush waits until the server has received what was published, at
	// most timeout.
	Flush(timeout time.Duration) error
	// URL names the NATS server(s) for messages: the one connected to,
	// else the ones configured.
	URL() string
}

// natsConn adapts *nats.Conn to conn.
type natsConn struct{ nc *nats.Conn }

func (c natsConn) Publish(subject string, data []byte) error { return c.nc.Publish(subject, data) }

func (c natsConn) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	msg, err := c.nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return nil, err
	}
	return msg.Data, nil
}

func (c natsConn) Subscribe(subject string, handle func([]byte)) (func() error, error) {
	sub, err := c.nc.Subscribe(subject, func(m *nats.Msg) { handle(m.Data) })
	if err != nil {
		return nil, err
	}
	return func() error {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		return nil
	}, nil
}

func (c natsConn) IsConnected() bool { return c.nc.IsConnected() }

func (c natsConn) MaxPayload() int64 { return c.nc.MaxPayload() }

func (c natsConn) Flush(timeout time.Duration) error { return c.nc.FlushTimeout(timeout) }

func (c natsConn) URL() string {
	if u := c.nc.ConnectedUrlRedacted(); u != "" {
		return u
	}
	return strings.Join(c.nc.Servers(), ",")
}
