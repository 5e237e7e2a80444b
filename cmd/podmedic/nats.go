package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

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
	serverName := fs.String("server-name", "", "this node's name, unique and stable in a cluster (default: the host name)")
	cluster := fs.String("cluster", "", "HOST:PORT routes from the other nodes connect to (e.g. 0.0.0.0:6222); makes this server a cluster node")
	clusterName := fs.String("cluster-name", "", "name shared by the cluster's nodes (default "+natsserver.DefaultClusterName+")")
	routes := fs.String("routes", "", "comma-separated HOST:PORT cluster addresses of the nodes (this one may be listed too)")
	jsDir := fs.String("jetstream-dir", "", "enable JetStream (policy and checkpoint stores, learner lease) with its files in this directory")
	config := fs.String("config", "", "run from a nats-server configuration file instead (accounts, TLS, cluster, JetStream); no other server flag")
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
	cfg := natsserver.Config{
		Host: *host, Port: *port, HTTPPort: *httpPort, MaxPayload: int32(*maxPayload), Debug: *debug,
		Token: *token, User: *user, Password: *password,
		ServerName: *serverName, Cluster: *cluster, ClusterName: *clusterName, Routes: splitList(*routes), JetStreamDir: *jsDir,
	}
	if *config != "" {
		cfg = natsserver.Config{ConfigFile: *config, Debug: *debug}
		if set := setServerFlags(fs); len(set) > 0 {
			return flagError{fmt.Errorf("--config describes the whole server: drop %s", strings.Join(set, ", "))}
		}
	}
	ns, err := natsserver.Start(cfg)
	if err != nil {
		return err
	}
	if *config != "" {
		fmt.Fprintf(stdout, "nats: %s listening on %s (config %s, jetstream %v); Ctrl-C stops\n", ns.Name(), ns.ClientURL(), *config, ns.JetStreamEnabled())
	} else {
		fmt.Fprintf(stdout, "nats: listening on %s (max payload %d bytes, jetstream %v, cluster routes %d); Ctrl-C stops\n",
			ns.ClientURL(), *maxPayload, ns.JetStreamEnabled(), len(cfg.Routes))
	}
	<-ctx.Done()
	ns.Shutdown()
	ns.WaitForShutdown()
	fmt.Fprintln(stdout, "nats: stopped")
	return nil
}

// setServerFlags names the server flags given on the command line (or by
// PODMEDIC_* variables) besides --config and --nats-debug.
func setServerFlags(fs *flag.FlagSet) []string {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "nats-debug" {
			set = append(set, "--"+f.Name)
		}
	})
	return set
}
