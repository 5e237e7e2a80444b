package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
)

// serveHTTP serves h on *addr until the returned stop is called, and
// rewrites *addr to the address actually bound (port 0 picks one). An
// empty address serves nothing.
func serveHTTP(addr *string, h http.Handler, log hclog.Logger) (stop func(), err error) {
	if *addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --http %s: %w", *addr, err)
	}
	*addr = ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("http shutdown", "error", err)
		}
		<-done
	}, nil
}

// checkListenAddr refuses a --http address that cannot be listened on
// (not host:port, or a port outside 0..65535) before anything starts; ""
// (serve nothing) is fine.
func checkListenAddr(flagName, addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return flagError{fmt.Errorf("--%s %q: want HOST:PORT: %v", flagName, addr, err)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return flagError{fmt.Errorf("--%s %q: port %q is not a number in 0..65535", flagName, addr, port)}
	}
	return nil
}
