package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
)

// Timeouts and limits of every HTTP server. ReadHeaderTimeout bounds
// slow-header clients; MaxHeaderBytes bounds what a client can make the
// server hold for one request.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 15 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// ShutdownGrace is how long a server may take to finish in-flight requests
// after its context ends before it is stopped hard.
const ShutdownGrace = 10 * time.Second

// Listen opens a TCP listener on address and names it in errors.
func Listen(ctx context.Context, name, address string) (net.Listener, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listen for %s on %s: %w", name, address, err)
	}
	return l, nil
}

// HTTP serves handler on l until ctx ends, then shuts down gracefully.
// onShutdown functions run when the shutdown starts: they end long-lived
// responses, such as streams, that graceful shutdown would otherwise wait
// for.
func HTTP(ctx context.Context, log *slog.Logger, name string, l net.Listener, handler http.Handler, onShutdown ...func()) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	for _, f := range onShutdown {
		srv.RegisterOnShutdown(f)
	}
	log.Info("server started", "server", name, "address", l.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s server: %w", name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		log.Warn("server did not stop gracefully", "server", name, "error", err)
		err = srv.Close()
	}
	log.Info("server stopped", "server", name)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop %s server: %w", name, err)
	}
	return nil
}

// GRPC serves srv on l until ctx ends, then stops gracefully, falling back
// to Stop when in-flight calls outlast ShutdownGrace.
func GRPC(ctx context.Context, log *slog.Logger, name string, l net.Listener, srv *grpc.Server) error {
	log.Info("server started", "server", name, "address", l.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s server: %w", name, err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(ShutdownGrace)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		log.Warn("server did not stop gracefully", "server", name)
		srv.Stop()
	}
	log.Info("server stopped", "server", name)
	return nil
}
