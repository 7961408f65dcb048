package redis

import (
	"errors"

	goredis "github.com/redis/go-redis/v9"
)

// ErrNoAddress reports ClientOptions with an empty Addresses list.
var ErrNoAddress = errors.New("redis store: no address: list at least one Redis host:port")

// ErrSentinelAuthWithoutMaster reports Sentinel credentials without a master
// name. Without MasterName the addresses are data nodes, so no connection
// would use the credentials.
var ErrSentinelAuthWithoutMaster = errors.New("redis store: Sentinel username or password set without a master name: set the master name, or remove the Sentinel credentials")

// ClientOptions are the connection settings of the store. They carry the
// passwords themselves, so reading them from files or flags stays with the
// caller.
type ClientOptions struct {
	// Addresses are host:port pairs. One address is a single server and
	// several are Cluster nodes, unless MasterName is set, which makes them
	// Sentinels.
	Addresses []string
	// MasterName is the name under which the Sentinels monitor the master.
	MasterName string
	// Username and Password authenticate to the data nodes: the single
	// server, the Cluster nodes, or the master and replicas behind Sentinel.
	Username string
	Password string
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// themselves, which have their own requirepass and ACL users. They need
	// MasterName.
	SentinelUsername string
	SentinelPassword string
	// DB is the database number. A Cluster has only database 0.
	DB int
}

// UniversalOptions checks o and converts it to the options of
// goredis.NewUniversalClient, for Open. It returns ErrNoAddress or
// ErrSentinelAuthWithoutMaster when o is incomplete.
func (o ClientOptions) UniversalOptions() (*goredis.UniversalOptions, error) {
	if len(o.Addresses) == 0 {
		return nil, ErrNoAddress
	}
	if o.MasterName == "" && (o.SentinelUsername != "" || o.SentinelPassword != "") {
		return nil, ErrSentinelAuthWithoutMaster
	}
	return &goredis.UniversalOptions{
		Addrs:            append([]string(nil), o.Addresses...),
		MasterName:       o.MasterName,
		Username:         o.Username,
		Password:         o.Password,
		SentinelUsername: o.SentinelUsername,
		SentinelPassword: o.SentinelPassword,
		DB:               o.DB,
	}, nil
}
