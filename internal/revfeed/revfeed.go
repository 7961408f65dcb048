// Package revfeed defines the revocation feed between the issuer and the
// ext_authz servers. The feed is an HTTP response of newline-delimited JSON
// entries that the issuer writes and each ext_authz reads. With it, a
// revoked access token is denied at the edge without a call to the issuer
// per request.
//
// A reader sends GET <feed URL>?after=<cursor>. The issuer responds with
// every unexpired entry whose cursor is greater, then a Sync line, then new
// entries as they happen, with a Heartbeat line when nothing else was sent
// for HeartbeatInterval. The Epoch header names the store that numbers the
// cursors: when it changes, cursors restarted, and the reader asks again
// from 0 and replaces what it holds once the Sync line arrives.
//
// It must not import issuer, extauthz or any Kubernetes package.
package revfeed

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Kind is the set of access tokens that an entry revokes.
type Kind string

// The kinds of revocation.
const (
	// KindToken revokes the one access token whose "jti" is Value.
	KindToken Kind = "jti"
	// KindSession revokes the access tokens of one login, whose "sid"
	// claim is Value: a refresh token family.
	KindSession Kind = "sid"
	// KindSubject revokes every access token whose "sub" is Value and
	// whose "iat" is not after RevokedAt.
	KindSubject Kind = "sub"
)

// Line types other than entries.
const (
	// TypeSync ends the backlog: the reader holds every entry older than
	// the lines that follow.
	TypeSync = "sync"
	// TypeHeartbeat keeps an idle response alive.
	TypeHeartbeat = "heartbeat"
)

// Limits and timings of the feed.
const (
	// MediaType is the Content-Type of a feed response.
	MediaType = "application/x-ndjson"
	// EpochHeader carries the epoch of the cursors.
	EpochHeader = "Gatehouse-Feed-Epoch"
	// HeartbeatInterval is the longest time the issuer stays silent.
	HeartbeatInterval = 10 * time.Second
	// MaxLineBytes bounds one line; entries are far smaller.
	MaxLineBytes = 4096
)

// ErrInvalidLine reports a line that is not a valid feed line.
var ErrInvalidLine = errors.New("invalid revocation feed line")

// Line is one line of a feed response: an entry when Type is empty.
type Line struct {
	Type      string `json:"type,omitempty"`
	Cursor    uint64 `json:"cursor,omitempty"`
	Kind      Kind   `json:"kind,omitempty"`
	Value     string `json:"value,omitempty"`
	RevokedAt int64  `json:"revokedAt,omitempty"` // Unix seconds
	ExpiresAt int64  `json:"expiresAt,omitempty"` // Unix seconds
}

// ParseLine decodes and checks one line.
func ParseLine(data []byte) (Line, error) {
	var l Line
	if len(data) > MaxLineBytes {
		return l, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidLine, len(data), MaxLineBytes)
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("%w: %w", ErrInvalidLine, err)
	}
	switch l.Type {
	case TypeSync, TypeHeartbeat:
		return l, nil
	case "":
		return l, l.checkEntry()
	}
	return l, fmt.Errorf("%w: unknown type %q", ErrInvalidLine, l.Type)
}

func (l Line) checkEntry() error {
	switch {
	case l.Kind != KindToken && l.Kind != KindSession && l.Kind != KindSubject:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidLine, l.Kind)
	case l.Value == "":
		return fmt.Errorf("%w: empty value", ErrInvalidLine)
	case l.Cursor == 0:
		return fmt.Errorf("%w: missing cursor", ErrInvalidLine)
	case l.ExpiresAt <= 0:
		return fmt.Errorf("%w: missing expiresAt", ErrInvalidLine)
	}
	return nil
}

// URL returns feed with the after parameter set to cursor.
func URL(feed string, cursor uint64) (string, error) {
	u, err := url.Parse(feed)
	if err != nil {
		return "", fmt.Errorf("invalid revocation feed URL: %w", err)
	}
	q := u.Query()
	q.Set("after", strconv.FormatUint(cursor, 10))
	u.RawQuery = q.Encode()
	return u.String(), nil
}
