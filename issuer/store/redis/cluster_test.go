package redis_test

import (
	"context"
	"os/exec"
	"strconv"
	"testing"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/redis"
	"github.com/gatehouse-dev/gatehouse/issuer/store/storetest"
	goredis "github.com/redis/go-redis/v9"
)

// clusterMasters is the number of masters in the test cluster, the fewest
// that redis-cli --cluster create accepts (redis-cli 7.0).
const clusterMasters = 3

// startCluster starts clusterMasters redis-servers with cluster mode on,
// joins them with redis-cli --cluster create, and waits until every node
// reports that all slots are served.
func startCluster(t *testing.T) []*server {
	t.Helper()
	lookRedisTool(t, "redis-server")
	cli := lookRedisTool(t, "redis-cli")
	nodes := make([]*server, clusterMasters)
	args := []string{"--cluster", "create"}
	for i := range nodes {
		// cluster-port sets the bus port, which is otherwise the client
		// port plus 10000 and may be taken or above 65535.
		nodes[i] = startServer(t, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(freePort(t)))
		args = append(args, nodes[i].addr)
	}
	args = append(args, "--cluster-yes")

	ctx, cancel := context.WithTimeout(t.Context(), topologyTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, node := range nodes {
		waitClusterOK(t, node)
	}
	return nodes
}

// waitClusterOK waits until CLUSTER INFO on node reports the state ok,
// which means that every hash slot is assigned to a node that is up.
func waitClusterOK(t *testing.T, node *server) {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: node.addr, DisableIdentity: true})
	defer client.Close()
	pollUntil(t, "cluster_state:ok on "+node.addr, func() (bool, error) {
		info, err := client.ClusterInfo(t.Context()).Result()
		if err != nil {
			return false, err
		}
		state, err := parseInfoField(info, "cluster_state")
		return state == "ok", err
	})
}

// clusterOptions returns the client options that cmd/gatehouse builds from
// one --redis-address per node, which select a Cluster client.
func clusterOptions(nodes []*server) *goredis.UniversalOptions {
	opts := &goredis.UniversalOptions{}
	for _, node := range nodes {
		opts.Addrs = append(opts.Addrs, node.addr)
	}
	return opts
}

func TestClusterContract(t *testing.T) {
	nodes := startCluster(t)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		s, err := redis.Open(t.Context(), clusterOptions(nodes), prefix(n))
		if err != nil {
			t.Fatalf("Open on the cluster: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})

	// The suite passes on one node too, so check that its keys were spread
	// over the cluster and the scripts ran on more than one node.
	used := 0
	for _, node := range nodes {
		client := goredis.NewClient(&goredis.Options{Addr: node.addr, DisableIdentity: true})
		keys, err := client.DBSize(t.Context()).Result()
		_ = client.Close()
		if err != nil {
			t.Fatalf("DBSIZE on %s: %v", node.addr, err)
		}
		if keys > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("got keys on %d of %d cluster nodes after the suite, want at least 2", used, len(nodes))
	}
}
