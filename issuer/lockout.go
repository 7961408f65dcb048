package issuer

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// LockoutPolicy slows down and then stops password guessing. Failed
// password grants are counted per username and per client address in the
// store, so every issuer replica that shares the store counts them. After
// DelayAfter failures in a window, each response waits BaseDelay, doubling
// per further failure up to MaxDelay. After LockAfter failures, the
// username or address is locked until its window ends. A locked account
// gets the same invalid_grant response as a wrong password, after about as
// long, so an attacker cannot tell the cases apart.
type LockoutPolicy struct {
	// Disabled turns the policy off.
	Disabled bool
	// Window is how long failures are counted, and so how long a lock
	// lasts at most. Zero means 15 minutes.
	Window time.Duration
	// DelayAfter is the failure count at which responses start to slow
	// down. Zero means 3.
	DelayAfter int
	// BaseDelay is the first delay. Zero means 500 ms.
	BaseDelay time.Duration
	// MaxDelay bounds the delay. Zero means 4 s.
	MaxDelay time.Duration
	// LockAfter is the failure count of a username that locks it. Zero
	// means 10.
	LockAfter int
	// LockAfterPerAddress is the failure count of one client address that
	// locks it, higher because many users can share an address behind a
	// proxy. Zero means 100.
	LockAfterPerAddress int
}

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	p.Window = cmpOrDuration(p.Window, 15*time.Minute)
	p.BaseDelay = cmpOrDuration(p.BaseDelay, 500*time.Millisecond)
	p.MaxDelay = cmpOrDuration(p.MaxDelay, 4*time.Second)
	p.DelayAfter = cmpOrInt(p.DelayAfter, 3)
	p.LockAfter = cmpOrInt(p.LockAfter, 10)
	p.LockAfterPerAddress = cmpOrInt(p.LockAfterPerAddress, 100)
	return p
}

func cmpOrDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func cmpOrInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// lockout applies a LockoutPolicy with a FailureCounter.
type lockout struct {
	policy  LockoutPolicy
	counter store.FailureCounter
	now     func() time.Time
	sleep   func(context.Context, time.Duration)
	// verifyNanos is a moving average of password checks, which a locked
	// response waits for, so that it takes about as long as a real check.
	verifyNanos atomic.Int64
}

// Keys of the failure counters.
func usernameKey(username string) string { return "user:" + username }
func addressKey(address string) string   { return "addr:" + address }

// check returns whether the username or the address is locked, and makes
// the caller wait the back-off delay that their failures earned.
func (l *lockout) check(ctx context.Context, username, address string) (locked bool, err error) {
	userFailures, err := l.counter.Failures(ctx, usernameKey(username), l.now())
	if err != nil {
		return false, err
	}
	addrFailures, err := l.counter.Failures(ctx, addressKey(address), l.now())
	if err != nil {
		return false, err
	}
	if userFailures >= l.policy.LockAfter || addrFailures >= l.policy.LockAfterPerAddress {
		l.sleep(ctx, time.Duration(l.verifyNanos.Load()))
		return true, nil
	}
	l.sleep(ctx, l.delay(max(userFailures, addrFailures*l.policy.LockAfter/l.policy.LockAfterPerAddress)))
	return false, nil
}

// delay returns the back-off for a failure count.
func (l *lockout) delay(failures int) time.Duration {
	if failures < l.policy.DelayAfter {
		return 0
	}
	d := l.policy.BaseDelay
	for i := l.policy.DelayAfter; i < failures && d < l.policy.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.policy.MaxDelay)
}

// failed counts a failed login and reports whether it locked the username
// or the address.
func (l *lockout) failed(ctx context.Context, username, address string) (userLocked, addrLocked bool, err error) {
	now := l.now()
	n, err := l.counter.RecordFailure(ctx, usernameKey(username), l.policy.Window, now)
	if err != nil {
		return false, false, err
	}
	m, err := l.counter.RecordFailure(ctx, addressKey(address), l.policy.Window, now)
	if err != nil {
		return false, false, err
	}
	return n == l.policy.LockAfter, m == l.policy.LockAfterPerAddress, nil
}

// succeeded clears the username's failures after a good password.
func (l *lockout) succeeded(ctx context.Context, username string) error {
	return l.counter.ResetFailures(ctx, usernameKey(username))
}

// observeVerify feeds the moving average of password-check durations.
func (l *lockout) observeVerify(d time.Duration) {
	old := l.verifyNanos.Load()
	if old == 0 {
		l.verifyNanos.Store(int64(d))
		return
	}
	l.verifyNanos.Store(old + (int64(d)-old)/8)
}

func sleepContext(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
