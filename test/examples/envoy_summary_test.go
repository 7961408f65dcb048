package examples

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// Names of the Envoy extensions the examples use, as Envoy registers them.
const (
	hcmName           = "envoy.filters.network.http_connection_manager"
	extAuthzName      = "envoy.filters.http.ext_authz"
	httpProtocolsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

// extAuthzSummary is the part of an example bootstrap that decides how
// requests reach Gatehouse. Fields that do not apply to the example's
// transport stay empty.
type extAuthzSummary struct {
	Cluster                string
	Endpoints              []string
	HTTP2                  bool
	GRPCTimeout            string
	ServerURI              string
	PathPrefix             string
	TransportAPIVersion    string
	FailureModeAllow       bool
	StatusOnError          string
	AllowedHeaders         []string
	AllowedUpstreamHeaders []string
	AllowedClientHeaders   []string
	HTTPFilters            []string
	Routes                 []routeSummary
}

// routeSummary is a route's match and its ext_authz override.
type routeSummary struct {
	Match            string
	Cluster          string
	ExtAuthzDisabled bool
	ContextExtension map[string]string
}

// summarizeEnvoy extracts the extAuthzSummary of a bootstrap with one HTTP
// connection manager.
func summarizeEnvoy(b *bootstrapv3.Bootstrap) (extAuthzSummary, error) {
	managers, err := connectionManagers(b)
	if err != nil {
		return extAuthzSummary{}, err
	}
	if len(managers) != 1 {
		return extAuthzSummary{}, fmt.Errorf("got %d http connection managers, want 1", len(managers))
	}
	hcm := managers[0]
	var summary extAuthzSummary
	var filter *extauthzv3.ExtAuthz
	for _, f := range hcm.GetHttpFilters() {
		summary.HTTPFilters = append(summary.HTTPFilters, f.GetName())
		if f.GetName() != extAuthzName {
			continue
		}
		filter = new(extauthzv3.ExtAuthz)
		if err := f.GetTypedConfig().UnmarshalTo(filter); err != nil {
			return extAuthzSummary{}, fmt.Errorf("ext_authz filter: %w", err)
		}
	}
	if filter == nil {
		return extAuthzSummary{}, fmt.Errorf("%s filter not found", extAuthzName)
	}
	summarizeFilter(&summary, filter)
	if err := summarizeCluster(&summary, b); err != nil {
		return extAuthzSummary{}, err
	}
	summary.Routes, err = summarizeRoutes(hcm.GetRouteConfig())
	return summary, err
}

func connectionManagers(b *bootstrapv3.Bootstrap) ([]*hcmv3.HttpConnectionManager, error) {
	var managers []*hcmv3.HttpConnectionManager
	for _, listener := range b.GetStaticResources().GetListeners() {
		for _, chain := range listener.GetFilterChains() {
			for _, f := range chain.GetFilters() {
				if f.GetName() != hcmName {
					continue
				}
				hcm := new(hcmv3.HttpConnectionManager)
				if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
					return nil, fmt.Errorf("listener %s: %w", listener.GetName(), err)
				}
				managers = append(managers, hcm)
			}
		}
	}
	return managers, nil
}

func summarizeFilter(s *extAuthzSummary, f *extauthzv3.ExtAuthz) {
	s.TransportAPIVersion = f.GetTransportApiVersion().String()
	s.FailureModeAllow = f.GetFailureModeAllow()
	s.StatusOnError = f.GetStatusOnError().GetCode().String()
	s.AllowedHeaders = matcherStrings(f.GetAllowedHeaders())
	if grpc := f.GetGrpcService(); grpc != nil {
		s.Cluster = grpc.GetEnvoyGrpc().GetClusterName()
		s.GRPCTimeout = grpc.GetTimeout().AsDuration().String()
		return
	}
	service := f.GetHttpService()
	s.Cluster = service.GetServerUri().GetCluster()
	s.ServerURI = service.GetServerUri().GetUri()
	s.PathPrefix = service.GetPathPrefix()
	s.AllowedUpstreamHeaders = matcherStrings(service.GetAuthorizationResponse().GetAllowedUpstreamHeaders())
	s.AllowedClientHeaders = matcherStrings(service.GetAuthorizationResponse().GetAllowedClientHeaders())
}

// matcherStrings formats each string matcher as "kind:value", for example
// "exact:authorization".
func matcherStrings(list *matcherv3.ListStringMatcher) []string {
	var out []string
	for _, m := range list.GetPatterns() {
		switch {
		case m.GetExact() != "":
			out = append(out, "exact:"+m.GetExact())
		case m.GetPrefix() != "":
			out = append(out, "prefix:"+m.GetPrefix())
		default:
			out = append(out, "other:"+m.String())
		}
	}
	return out
}

// summarizeCluster fills in the endpoints and protocol of the cluster that
// ext_authz names.
func summarizeCluster(s *extAuthzSummary, b *bootstrapv3.Bootstrap) error {
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != s.Cluster {
			continue
		}
		for _, group := range c.GetLoadAssignment().GetEndpoints() {
			for _, lb := range group.GetLbEndpoints() {
				addr := lb.GetEndpoint().GetAddress().GetSocketAddress()
				port := strconv.FormatUint(uint64(addr.GetPortValue()), 10)
				s.Endpoints = append(s.Endpoints, net.JoinHostPort(addr.GetAddress(), port))
			}
		}
		packed, ok := c.GetTypedExtensionProtocolOptions()[httpProtocolsName]
		if !ok {
			return nil
		}
		options := new(upstreamhttpv3.HttpProtocolOptions)
		if err := packed.UnmarshalTo(options); err != nil {
			return fmt.Errorf("cluster %s: %w", c.GetName(), err)
		}
		s.HTTP2 = options.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
		return nil
	}
	return fmt.Errorf("ext_authz cluster %q: %w", s.Cluster, errUnknownCluster)
}

func summarizeRoutes(rc *routev3.RouteConfiguration) ([]routeSummary, error) {
	var routes []routeSummary
	for _, vh := range rc.GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			summary := routeSummary{Match: describeMatch(r.GetMatch()), Cluster: r.GetRoute().GetCluster()}
			packed, ok := r.GetTypedPerFilterConfig()[extAuthzName]
			if ok {
				perRoute := new(extauthzv3.ExtAuthzPerRoute)
				if err := packed.UnmarshalTo(perRoute); err != nil {
					return nil, fmt.Errorf("route %s: %w", summary.Match, err)
				}
				summary.ExtAuthzDisabled = perRoute.GetDisabled()
				summary.ContextExtension = perRoute.GetCheckSettings().GetContextExtensions()
			}
			routes = append(routes, summary)
		}
	}
	return routes, nil
}

// describeMatch formats a route match as "path=/x", "prefix=/x" and one
// "header=value" item for each exact header match.
func describeMatch(m *routev3.RouteMatch) string {
	parts := []string{}
	switch {
	case m.GetPath() != "":
		parts = append(parts, "path="+m.GetPath())
	case m.GetPrefix() != "":
		parts = append(parts, "prefix="+m.GetPrefix())
	}
	for _, h := range m.GetHeaders() {
		parts = append(parts, h.GetName()+"="+h.GetStringMatch().GetExact())
	}
	return strings.Join(parts, " ")
}

// checkClusterRefs returns errUnknownCluster when a route or the ext_authz
// filter names a cluster that the bootstrap does not define.
func checkClusterRefs(b *bootstrapv3.Bootstrap) error {
	defined := map[string]bool{}
	for _, c := range b.GetStaticResources().GetClusters() {
		defined[c.GetName()] = true
	}
	summary, err := summarizeEnvoy(b)
	if err != nil {
		return err
	}
	if !defined[summary.Cluster] {
		return fmt.Errorf("ext_authz cluster %q: %w", summary.Cluster, errUnknownCluster)
	}
	for _, r := range summary.Routes {
		if !defined[r.Cluster] {
			return fmt.Errorf("route %s cluster %q: %w", r.Match, r.Cluster, errUnknownCluster)
		}
	}
	return nil
}
