package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// slogLogger sends go-redis's own messages, such as failed dials, to slog,
// so that a JSON log stays JSON.
type slogLogger struct {
	log *slog.Logger
}

func (l slogLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}

// SetLogger routes the go-redis client's messages to log. The go-redis
// logger is global, so this affects every client in the process.
func SetLogger(log *slog.Logger) {
	goredis.SetLogger(slogLogger{log: log})
}

// Ping reports whether the Redis server replies to PING.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return wrap("ping", err)
	}
	return nil
}
