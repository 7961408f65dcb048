package redis_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/issuer/store/redis"
)

func TestClientOptionsUniversalOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    redis.ClientOptions
		want    *goredis.UniversalOptions
		wantErr error
	}{
		{
			name: "single server",
			opts: redis.ClientOptions{Addresses: []string{"127.0.0.1:6379"}, Username: "issuer", Password: "data-secret", DB: 2},
			want: &goredis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}, Username: "issuer", Password: "data-secret", DB: 2},
		},
		{
			name: "sentinel with credentials",
			opts: redis.ClientOptions{
				Addresses:        []string{"127.0.0.1:26379", "127.0.0.1:26380"},
				MasterName:       "gatehouse",
				Password:         "data-secret",
				SentinelUsername: "watcher",
				SentinelPassword: "sentinel-secret",
			},
			want: &goredis.UniversalOptions{
				Addrs:            []string{"127.0.0.1:26379", "127.0.0.1:26380"},
				MasterName:       "gatehouse",
				Password:         "data-secret",
				SentinelUsername: "watcher",
				SentinelPassword: "sentinel-secret",
			},
		},
		{
			name:    "no address",
			opts:    redis.ClientOptions{MasterName: "gatehouse"},
			wantErr: redis.ErrNoAddress,
		},
		{
			name:    "sentinel password without master name",
			opts:    redis.ClientOptions{Addresses: []string{"127.0.0.1:26379"}, SentinelPassword: "sentinel-secret"},
			wantErr: redis.ErrSentinelAuthWithoutMaster,
		},
		{
			name:    "sentinel username without master name",
			opts:    redis.ClientOptions{Addresses: []string{"127.0.0.1:26379"}, SentinelUsername: "watcher"},
			wantErr: redis.ErrSentinelAuthWithoutMaster,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.UniversalOptions()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(goredis.UniversalOptions{})); diff != "" {
				t.Errorf("options mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientOptionsCopiesAddresses checks that a later change to the
// caller's slice does not reach a client built from the options.
func TestClientOptionsCopiesAddresses(t *testing.T) {
	addresses := []string{"127.0.0.1:6379"}
	got, err := redis.ClientOptions{Addresses: addresses}.UniversalOptions()
	if err != nil {
		t.Fatalf("UniversalOptions: %v", err)
	}
	addresses[0] = "127.0.0.1:6380"
	if got.Addrs[0] != "127.0.0.1:6379" {
		t.Errorf("Addrs[0] = %q after the caller changed its slice, want 127.0.0.1:6379", got.Addrs[0])
	}
}
