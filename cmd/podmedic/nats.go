package main

import (
	"context"
	"fmt"
	"io"

	"podmedic/internal/natsserver"
)

// runNATS runs a standalone embedded NATS server until interrupted, for
// multi-process runs on machines without nats-server installed.
func runNATS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("nats", "nats [--nats-host 127.0.0.1] [--nats-port 4222] [--nats-http-port 8222] [flags]", stderr)
	host := fs.String("nats-host", "127.0.0.1", "address to listen on (0.0.0.0 inside a container)")
	port := fs.Int("nats-port", 4222, "client port")
	httpPort := fs.Int("nats-http-port", 8222, "monitoring port (/varz, /connz, /healthz); 0 disables")
	maxPayload := fs.Int("nats-max-payload", natsserver.DefaultMaxPayload, "largest message in bytes")
	debug := fs.Bool("nats-debug", false, "log the server's own messages")
	token := fs.String("auth-token", "", "require this token of every client (clients: --nats-token)")
	user := fs.String("auth-user", "", "require this user of every client, with --auth-password (clients: --nats-user/--nats-password)")
	password := fs.String("auth-password", "", "password of --auth-user")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case *maxPayload <= 0 || *maxPayload > 64<<20:
		return flagError{fmt.Errorf("--nats-max-payload: must be in (0, 64 MiB], got %d", *maxPayload)}
	case *port < 1 || *port > 65535:
		return flagError{fmt.Errorf("--nats-port: want a port in 1..65535, got %d", *port)}
	case *httpPort < 0 || *httpPort > 65535:
		return flagError{fmt.Errorf("--nats-http-port: want a port in 1..65535, or 0 to disable monitoring, got %d", *httpPort)}
	case *httpPort == *port:
		return flagError{fmt.Errorf("--nats-http-port: %d is also --nats-port", *httpPort)}
	}
	ns, err := natsserver.Start(natsserver.Config{
		Host: *host, Port: *port, HTTPPort: *httpPort, MaxPayload: int32(*maxPayload), Debug: *debug,
		Token: *token, User: *user, Password: *password,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nats: listening on %s (max payload %d bytes); Ctrl-C stops\n", ns.ClientURL(), *maxPayload)
	<-ctx.Done()
	ns.Shutdown()
	ns.WaitForShutdown()
	fmt.Fprintln(stdout, "nats: stopped")
	return nil
}
