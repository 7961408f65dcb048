package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"

	"github.com/gatehouse-dev/gatehouse/extauthz"
)

// gracefulStopTimeout bounds how long the floor server waits for in-flight
// Checks when it stops before it closes their connections.
const gracefulStopTimeout = 5 * time.Second

// floorCommand implements "loadcheck floor".
func floorCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9101", "loopback host:port to serve the empty Check on")
	options := fs.String("server-options", "plain", `"plain" for the options of grpc.NewServer(), or "gatehouse" for extauthz.ServerOptions() (its codec, which decodes only what a check reads)`)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	serverOptions, err := floorServerOptions(*options)
	if err != nil {
		return fmt.Errorf("floor: %w: %w", errUsage, err)
	}
	addr, err := loopbackHostPort(*listen, listenPort)
	if err != nil {
		return fmt.Errorf("floor: -listen: %w: %w", errUsage, err)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	return serveFloor(ctx, lis, serverOptions...)
}

// floorServerOptions returns the gRPC server options that -server-options names.
func floorServerOptions(name string) ([]grpc.ServerOption, error) {
	switch name {
	case "plain":
		return nil, nil
	case "gatehouse":
		return extauthz.ServerOptions(), nil
	}
	return nil, fmt.Errorf(`invalid -server-options %q: want "plain" or "gatehouse"`, name)
}

// serveFloor serves the floor Check on lis until ctx ends, then stops
// gracefully. It closes lis. With no options the server is a plain
// grpc.NewServer(), the transport defaults a Check server starts from.
func serveFloor(ctx context.Context, lis net.Listener, options ...grpc.ServerOption) error {
	srv := grpc.NewServer(options...)
	authv3.RegisterAuthorizationServer(srv, floorServer{})

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	slog.Info("floor server started", "address", lis.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("floor: serve: %w", err)
	case <-ctx.Done():
	}
	stopGracefully(srv)
	slog.Info("floor server stopped", "address", lis.Addr().String())
	return nil
}

// stopGracefully lets in-flight calls finish, but for no longer than
// gracefulStopTimeout.
func stopGracefully(srv *grpc.Server) {
	timer := time.AfterFunc(gracefulStopTimeout, srv.Stop)
	defer timer.Stop()
	srv.GracefulStop()
}

// floorServer allows every Check without reading the request.
type floorServer struct {
	authv3.UnimplementedAuthorizationServer
}

// floorResponse is shared by all calls: gRPC only reads it to marshal it,
// and concurrent reads of a protobuf message are safe.
var floorResponse = &authv3.CheckResponse{
	Status:       &rpcstatus.Status{Code: 0},
	HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
}

// Check returns an OK status with an empty OkHttpResponse.
func (floorServer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return floorResponse, nil
}
